#include "rle_codec.h"
#ifdef EXERCISM_TEST_SUITE
#include <catch2/catch.hpp>
#else
#include "test/catch.hpp"
#endif

#include <stdexcept>

TEST_CASE("encode a run") {
  REQUIRE(rle_codec::encode("AAAA") == "4A");
}

#if defined(EXERCISM_RUN_ALL_TESTS)
TEST_CASE("encode the empty string") {
  REQUIRE(rle_codec::encode("").empty());
}

TEST_CASE("encode single characters unchanged") {
  REQUIRE(rle_codec::encode("abc") == "abc");
}

TEST_CASE("encode a mixture of runs and single characters") {
  REQUIRE(rle_codec::encode("WWWWBBxWW") == "4W2Bx2W");
}

TEST_CASE("encode runs of spaces and long runs") {
  REQUIRE(rle_codec::encode("  a" + std::string(12, 'z')) == "2 a12z");
}

TEST_CASE("decode the empty string") {
  REQUIRE(rle_codec::decode("").empty());
}

TEST_CASE("decode a multi-digit count") {
  REQUIRE(rle_codec::decode("12a3b") == std::string(12, 'a') + "bbb");
}

TEST_CASE("decode single characters unchanged") {
  REQUIRE(rle_codec::decode("x y") == "x y");
}

TEST_CASE("decode what encode produced") {
  const std::string text = "zzz ppp  q rrrrrrrrrr!";
  REQUIRE(rle_codec::decode(rle_codec::encode(text)) == text);
}

TEST_CASE("a trailing count is invalid") {
  REQUIRE_THROWS_AS(rle_codec::decode("3a4"), std::invalid_argument);
}
#endif
