#include "bracket_depth.h"
#ifdef EXERCISM_TEST_SUITE
#include <catch2/catch.hpp>
#else
#include "test/catch.hpp"
#endif

TEST_CASE("one pair of parentheses") {
  REQUIRE(bracket_depth::max_depth("(x)") == 1);
}

#if defined(EXERCISM_RUN_ALL_TESTS)
TEST_CASE("a text without brackets has depth zero") {
  REQUIRE(bracket_depth::max_depth("no brackets here") == 0);
}

TEST_CASE("the empty text has depth zero") {
  REQUIRE(bracket_depth::max_depth("") == 0);
}

TEST_CASE("nested brackets of mixed kinds") {
  REQUIRE(bracket_depth::max_depth("a(b[c{d}e]f)g") == 3);
}

TEST_CASE("siblings do not add up") {
  REQUIRE(bracket_depth::max_depth("()[]{}(())") == 2);
}

TEST_CASE("an unmatched closing bracket is unbalanced") {
  REQUIRE(bracket_depth::max_depth("())") == -1);
}

TEST_CASE("an unclosed opening bracket is unbalanced") {
  REQUIRE(bracket_depth::max_depth("((x)") == -1);
}

TEST_CASE("crossed brackets are unbalanced") {
  REQUIRE(bracket_depth::max_depth("([)]") == -1);
}

TEST_CASE("a close before any open is unbalanced even if counts match") {
  REQUIRE(bracket_depth::max_depth(")(") == -1);
}
#endif
