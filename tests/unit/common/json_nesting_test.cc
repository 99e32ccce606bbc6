#include "common/json_nesting.h"

#include <gtest/gtest.h>

#include <string>

namespace ztdns {
namespace {

std::string nested(int depth, char open = '[', char close = ']') {
  return std::string(static_cast<size_t>(depth), open) +
         std::string(static_cast<size_t>(depth), close);
}

TEST(JsonNesting, CountsArraysAndObjectsUpToTheLimit) {
  EXPECT_TRUE(jsonNestingWithin("", 1));
  EXPECT_TRUE(jsonNestingWithin("42", 0));
  EXPECT_FALSE(jsonNestingWithin("[]", 0));
  EXPECT_TRUE(jsonNestingWithin(nested(64), 64));
  EXPECT_FALSE(jsonNestingWithin(nested(65), 64));
  EXPECT_TRUE(jsonNestingWithin(R"({"a": [{"b": [1, 2]}], "c": {"d": []}})", 4));
  EXPECT_FALSE(jsonNestingWithin(R"({"a": [{"b": [1, 2]}], "c": {"d": []}})", 3));
  // Siblings do not add up: depth goes back down at every close.
  std::string siblings;
  for (int i = 0; i < 1000; ++i) siblings += "[[]],";
  EXPECT_TRUE(jsonNestingWithin("[" + siblings + "1]", 3));
}

TEST(JsonNesting, IgnoresBracketsInStringsIncludingEscapedQuotes) {
  EXPECT_TRUE(jsonNestingWithin(R"(["[[[[{{{{"])", 1));
  EXPECT_TRUE(jsonNestingWithin(R"(["a\"[[[[", "\\"])", 1));
  EXPECT_FALSE(jsonNestingWithin(R"(["\\", [[]]])", 2)) << "an escaped backslash ends the string";
}

TEST(JsonNesting, RefusesAHugeDepthWithoutLookingAtTheRest) {
  // 100,000 levels: refused by the scan, in linear time and no memory (the parser would
  // need gigabytes for this).
  EXPECT_FALSE(jsonNestingWithin(nested(100'000), 64));
  EXPECT_FALSE(jsonNestingWithin(nested(100'000, '{', '}'), 32));
}

}  // namespace
}  // namespace ztdns
