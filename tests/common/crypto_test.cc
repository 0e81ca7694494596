#include "common/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace gust {
namespace {

TEST(CryptoTest, Sha256KnownVectors) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Base64("abc"), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

TEST(CryptoTest, Base64RoundTripAndRejectsGarbage) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    std::string out;
    ASSERT_TRUE(base64Decode(base64Encode(s), out)) << s;
    EXPECT_EQ(out, s);
  }
  std::string out;
  EXPECT_FALSE(base64Decode("abc", out));   // not a multiple of 4
  EXPECT_FALSE(base64Decode("ab!d", out));  // bad alphabet
}

TEST(CryptoTest, RandomIdsHaveTheRightShapeAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string u = uuid4();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    EXPECT_TRUE(seen.insert(u).second);
  }
  EXPECT_EQ(randomHex(32).size(), 64u);
  EXPECT_NE(randomHex(16), randomHex(16));
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("secret", "secret"));
  EXPECT_FALSE(constantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(constantTimeEquals("secret", "secrets"));
}

}  // namespace
}  // namespace gust
