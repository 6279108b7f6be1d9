#include "interval_merge.h"
#ifdef EXERCISM_TEST_SUITE
#include <catch2/catch.hpp>
#else
#include "test/catch.hpp"
#endif

#include <stdexcept>

using pairs = std::vector<std::pair<int, int>>;

TEST_CASE("a single interval is returned unchanged") {
  REQUIRE(interval_merge::merge({{2, 7}}) == pairs{{2, 7}});
}

#if defined(EXERCISM_RUN_ALL_TESTS)
TEST_CASE("no intervals give no intervals") {
  REQUIRE(interval_merge::merge({}).empty());
}

TEST_CASE("disjoint intervals are sorted by start") {
  REQUIRE(interval_merge::merge({{8, 9}, {1, 2}, {4, 6}}) == pairs{{1, 2}, {4, 6}, {8, 9}});
}

TEST_CASE("overlapping intervals are merged") {
  REQUIRE(interval_merge::merge({{1, 4}, {2, 6}, {10, 12}}) == pairs{{1, 6}, {10, 12}});
}

TEST_CASE("intervals sharing an endpoint are merged") {
  REQUIRE(interval_merge::merge({{3, 5}, {1, 3}}) == pairs{{1, 5}});
}

TEST_CASE("neighbouring intervals that do not touch stay apart") {
  REQUIRE(interval_merge::merge({{1, 2}, {3, 4}}) == pairs{{1, 2}, {3, 4}});
}

TEST_CASE("a nested interval disappears into its container") {
  REQUIRE(interval_merge::merge({{1, 10}, {2, 3}, {4, 9}}) == pairs{{1, 10}});
}

TEST_CASE("a chain of overlaps collapses into one interval") {
  REQUIRE(interval_merge::merge({{5, 7}, {1, 2}, {2, 5}, {7, 8}}) == pairs{{1, 8}});
}

TEST_CASE("negative bounds and single points work") {
  REQUIRE(interval_merge::merge({{-3, -3}, {-5, -4}, {0, 0}}) == pairs{{-5, -4}, {-3, -3}, {0, 0}});
}

TEST_CASE("an interval with start after end is rejected") {
  REQUIRE_THROWS_AS(interval_merge::merge({{1, 2}, {5, 4}}), std::invalid_argument);
}
#endif
