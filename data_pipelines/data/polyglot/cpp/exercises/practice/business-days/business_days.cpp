#include "business_days.h"

namespace business_days {

boost::gregorian::date add_business_days(const boost::gregorian::date& start, unsigned int days) {
  static_cast<void>(days);
  return start;
}

}  // namespace business_days
