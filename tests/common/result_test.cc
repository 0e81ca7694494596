#include "common/result.h"

#include <gtest/gtest.h>

namespace gust {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return Error::invalid("odd");
  return x / 2;
}

Result<int> quarter(int x) {
  GUST_ASSIGN_OR_RETURN(int h, half(x));
  return half(h);
}

Status check(int x) {
  GUST_TRY(half(x));
  return okStatus();
}

TEST(ResultTest, ValueAndError) {
  auto ok = half(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  auto bad = half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "odd");
}

TEST(ResultTest, MacrosPropagateErrors) {
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_FALSE(quarter(6).ok());  // 6/2 = 3 is odd
  EXPECT_TRUE(check(2).ok());
  EXPECT_EQ(check(1).error().message, "odd");
}

TEST(ResultTest, FromErrnoNamesTheCause) {
  Error e = Error::fromErrno("cannot open /x", ENOENT);
  EXPECT_EQ(e.message, "cannot open /x: No such file or directory");
  EXPECT_EQ(errorCodeName(ErrorCode::kNotFound), "NotFound");
}

TEST(ResultDeathTest, ValueOfErrorIsABug) {
  EXPECT_DEATH((void)half(3).value(), "value\\(\\) on an error Result");
}

}  // namespace
}  // namespace gust
