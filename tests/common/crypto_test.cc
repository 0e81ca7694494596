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

TEST(CryptoTest, HmacSha256Rfc4231) {
  // RFC 4231, test cases 1 and 2.
  EXPECT_EQ(hmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmacSha256("Jefe", "what do ya want for nothing?").size(), 32u);
  EXPECT_EQ(hexEncode(sha256Raw("abc")), sha256Hex("abc"));
  EXPECT_EQ(hexEncode(std::string("\x00\xff", 2)), "00ff");
}

TEST(CryptoTest, SealRoundTripsWithFreshNonces) {
  std::string key = randomBytes(kSealKeyBytes);
  for (const std::string& plaintext :
       std::vector<std::string>{"", "s", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                std::string(100000, 'x'), std::string("\0\1\2", 3)}) {
    auto a = seal(key, plaintext, "ctx");
    auto b = seal(key, plaintext, "ctx");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(*a, *b);  // a fresh random nonce each time
    EXPECT_EQ(a->substr(0, 4), "gs1:");
    for (char c : *a) EXPECT_TRUE(c >= 0x21 && c < 0x7f) << "not printable";
    if (plaintext.size() > 8) {
      EXPECT_EQ(a->find(plaintext), std::string::npos);
    }
    auto opened = open(key, *a, "ctx");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(CryptoTest, OpenRefusesEveryTampering) {
  std::string key = randomBytes(kSealKeyBytes);
  auto sealed = seal(key, "the secret", "record 1");
  ASSERT_TRUE(sealed.ok());
  std::string raw;
  ASSERT_TRUE(base64Decode(sealed->substr(4), raw));
  // Flip every bit of nonce, ciphertext and tag in turn.
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string t = raw;
      t[i] = static_cast<char>(t[i] ^ (1 << bit));
      auto opened = open(key, "gs1:" + base64Encode(t), "record 1");
      ASSERT_FALSE(opened.ok()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(opened.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(opened.error().message.find("failed authentication"), std::string::npos);
    }
  }
  EXPECT_FALSE(open(key, *sealed, "record 2").ok());  // other associated data
  EXPECT_FALSE(open(randomBytes(kSealKeyBytes), *sealed, "record 1").ok());  // other key
  EXPECT_FALSE(open(key, "gs1:" + base64Encode(raw.substr(0, raw.size() - 1)), "record 1").ok());
  EXPECT_FALSE(open(key, "gs1:" + base64Encode(raw.substr(0, 27)), "record 1").ok());  // too short
  EXPECT_FALSE(open(key, "gs1:!!!!", "record 1").ok());
  EXPECT_FALSE(open(key, "the secret", "record 1").ok());
  EXPECT_FALSE(open(key, sealed->substr(4), "record 1").ok());  // no prefix
}

TEST(CryptoTest, SealNeedsA32ByteKey) {
  EXPECT_EQ(seal("short", "x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(open(std::string(33, 'k'), "gs1:").error().code, ErrorCode::kInvalidArgument);
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("secret", "secret"));
  EXPECT_FALSE(constantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(constantTimeEquals("secret", "secrets"));
}

}  // namespace
}  // namespace gust
