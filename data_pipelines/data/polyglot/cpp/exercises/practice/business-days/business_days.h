#pragma once

#include <boost/date_time/gregorian/gregorian.hpp>

namespace business_days {

boost::gregorian::date add_business_days(const boost::gregorian::date& start, unsigned int days);

}  // namespace business_days
