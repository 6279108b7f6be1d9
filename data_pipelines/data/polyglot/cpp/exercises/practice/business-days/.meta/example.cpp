#include "business_days.h"

namespace business_days {

boost::gregorian::date add_business_days(const boost::gregorian::date& start, unsigned int days) {
  boost::gregorian::date date = start;
  while (days > 0) {
    date += boost::gregorian::days(1);
    const auto weekday = date.day_of_week().as_number();  // 0 = Sunday, 6 = Saturday
    if (weekday != 0 && weekday != 6) --days;
  }
  return date;
}

}  // namespace business_days
