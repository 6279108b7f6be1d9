#include "business_days.h"
#ifdef EXERCISM_TEST_SUITE
#include <catch2/catch.hpp>
#else
#include "test/catch.hpp"
#endif

using boost::gregorian::date;

TEST_CASE("friday plus one is monday") {
  REQUIRE(business_days::add_business_days(date(2024, 3, 1), 1) == date(2024, 3, 4));
}

#if defined(EXERCISM_RUN_ALL_TESTS)
TEST_CASE("zero days keeps a weekday") {
  REQUIRE(business_days::add_business_days(date(2024, 3, 6), 0) == date(2024, 3, 6));
}

TEST_CASE("zero days keeps a weekend day") {
  REQUIRE(business_days::add_business_days(date(2024, 3, 9), 0) == date(2024, 3, 9));
}

TEST_CASE("within one week") {
  REQUIRE(business_days::add_business_days(date(2024, 3, 4), 3) == date(2024, 3, 7));
}

TEST_CASE("saturday plus one is monday") {
  REQUIRE(business_days::add_business_days(date(2024, 3, 2), 1) == date(2024, 3, 4));
}

TEST_CASE("two full weeks") {
  REQUIRE(business_days::add_business_days(date(2024, 3, 4), 10) == date(2024, 3, 18));
}

TEST_CASE("across a leap day") {
  REQUIRE(business_days::add_business_days(date(2024, 2, 28), 2) == date(2024, 3, 1));
}

TEST_CASE("across a year end") {
  REQUIRE(business_days::add_business_days(date(2025, 12, 31), 3) == date(2026, 1, 5));
}
#endif
