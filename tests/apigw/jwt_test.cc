// JWT authorizer checks with keys made at test time: tokens signed here with OpenSSL, accepted
// and refused for each reason API Gateway refuses them.
#include "apigw/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include <boost/json/serialize.hpp>

#include "common/crypto.h"

namespace gust::apigw::jwt {
namespace {

using Clock = std::chrono::system_clock;
constexpr int64_t kNow = 1'800'000'000;
const Clock::time_point kNowTp = Clock::time_point(std::chrono::seconds(kNow));
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey generate(const char* type, int rsa_bits = 2048) {
  EVP_PKEY* p = type == std::string("RSA") ? EVP_RSA_gen(rsa_bits) : EVP_EC_gen("prime256v1");
  return Pkey(p);
}

std::string publicPem(EVP_PKEY* p) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, p);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string bnParam(EVP_PKEY* p, const char* name) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(p, name, &bn);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

std::string pad32(std::string s) { return std::string(32 - s.size(), '\0') + s; }

std::string signWith(EVP_PKEY* p, std::string_view data) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, p);
  size_t len = 0;
  EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                 data.size());
  std::string sig(len, '\0');
  EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  sig.resize(len);
  EVP_MD_CTX_free(md);
  return sig;
}

// DER ECDSA signature -> JWS r || s.
std::string derToRaw(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string out(64, '\0');
  BN_bn2binpad(r, reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_bn2binpad(s, reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

boost::json::object defaultClaims() {
  return {{"iss", "https://issuer.example"},
          {"aud", "api"},
          {"sub", "user-1"},
          {"exp", kNow + 3600},
          {"iat", kNow - 10},
          {"scope", "read write"}};
}

std::string makeToken(std::string_view alg, const boost::json::object& claims,
                      const std::string& sign_key_or_empty, EVP_PKEY* pkey,
                      std::string_view kid = {}) {
  boost::json::object header{{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  std::string input = base64UrlEncode(boost::json::serialize(header)) + "." +
                      base64UrlEncode(boost::json::serialize(claims));
  std::string sig;
  if (alg == "HS256") sig = hmacSha256(sign_key_or_empty, input);
  if (alg == "RS256") sig = signWith(pkey, input);
  if (alg == "ES256") sig = derToRaw(signWith(pkey, input));
  return input + "." + base64UrlEncode(sig);
}

ValidationOptions options() {
  ValidationOptions o;
  o.issuer = "https://issuer.example";
  o.audiences = {"other", "api"};
  return o;
}

std::string rsaJwk(EVP_PKEY* p, std::string_view kid) {
  boost::json::object k{{"kty", "RSA"},
                        {"kid", kid},
                        {"use", "sig"},
                        {"n", base64UrlEncode(bnParam(p, OSSL_PKEY_PARAM_RSA_N))},
                        {"e", base64UrlEncode(bnParam(p, OSSL_PKEY_PARAM_RSA_E))}};
  return boost::json::serialize(k);
}

std::string ecJwk(EVP_PKEY* p, std::string_view kid) {
  boost::json::object k{{"kty", "EC"},
                        {"kid", kid},
                        {"crv", "P-256"},
                        {"x", base64UrlEncode(pad32(bnParam(p, OSSL_PKEY_PARAM_EC_PUB_X)))},
                        {"y", base64UrlEncode(pad32(bnParam(p, OSSL_PKEY_PARAM_EC_PUB_Y)))}};
  return boost::json::serialize(k);
}

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = generate("RSA").release();
    ec_ = generate("EC").release();
    other_rsa_ = generate("RSA").release();
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(ec_);
    EVP_PKEY_free(other_rsa_);
  }
  KeySet jwks() {
    std::string doc = R"({"keys":[)" + rsaJwk(rsa_, "rsa-1") + "," + ecJwk(ec_, "ec-1") + "," +
                      R"({"kty":"oct","kid":"hmac-1","k":")" + base64UrlEncode(kSecret) + R"("},)" +
                      R"({"kty":"OKP","crv":"Ed25519","x":"abc"},)" +
                      R"({"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]})";
    auto ks = KeySet::fromJwks(doc);
    EXPECT_TRUE(ks.ok()) << ks.error().message;
    return *ks;
  }
  static EVP_PKEY* rsa_;
  static EVP_PKEY* ec_;
  static EVP_PKEY* other_rsa_;
};
EVP_PKEY* JwtTest::rsa_ = nullptr;
EVP_PKEY* JwtTest::ec_ = nullptr;
EVP_PKEY* JwtTest::other_rsa_ = nullptr;

void expectUnauthenticated(const Result<Validated>& r, std::string_view needle) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated) << r.error().message;
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
}

TEST_F(JwtTest, AcceptsEachAlgorithmFromAJwks) {
  auto keys = jwks();
  ASSERT_EQ(keys.size(), 3u);
  for (auto [alg, kid] : {std::pair{"HS256", "hmac-1"}, {"RS256", "rsa-1"}, {"ES256", "ec-1"}}) {
    std::string token =
        makeToken(alg, defaultClaims(), kSecret, alg == std::string("RS256") ? rsa_ : ec_, kid);
    auto r = validate(token, keys, options(), kNowTp);
    ASSERT_TRUE(r.ok()) << alg << ": " << r.error().message;
    EXPECT_EQ(r->claims.at("sub").as_string(), "user-1");
    EXPECT_EQ(r->scopes, (std::vector<std::string>{"read", "write"}));
  }
}

TEST_F(JwtTest, AcceptsConfiguredPemAndSecretWithoutKid) {
  auto rsa = KeySet::fromPem(publicPem(rsa_));
  ASSERT_TRUE(rsa.ok()) << rsa.error().message;
  EXPECT_TRUE(
      validate(makeToken("RS256", defaultClaims(), "", rsa_), *rsa, options(), kNowTp).ok());
  // A key configured without a kid matches a token that names one.
  EXPECT_TRUE(
      validate(makeToken("RS256", defaultClaims(), "", rsa_, "any"), *rsa, options(), kNowTp).ok());
  auto ec = KeySet::fromPem(publicPem(ec_));
  ASSERT_TRUE(ec.ok()) << ec.error().message;
  EXPECT_TRUE(validate(makeToken("ES256", defaultClaims(), "", ec_), *ec, options(), kNowTp).ok());
  auto secret = KeySet::fromSecret(kSecret);
  ASSERT_TRUE(secret.ok());
  EXPECT_TRUE(
      validate(makeToken("HS256", defaultClaims(), kSecret, nullptr), *secret, options(), kNowTp)
          .ok());
}

TEST_F(JwtTest, RejectsABadSignature) {
  auto keys = jwks();
  std::string token = makeToken("RS256", defaultClaims(), "", other_rsa_, "rsa-1");
  expectUnauthenticated(validate(token, keys, options(), kNowTp), "signature does not verify");
  token = makeToken("HS256", defaultClaims(), kSecret + "x", nullptr, "hmac-1");
  expectUnauthenticated(validate(token, keys, options(), kNowTp), "signature does not verify");
  // A claim changed after signing.
  std::string good = makeToken("ES256", defaultClaims(), "", ec_, "ec-1");
  auto claims = defaultClaims();
  claims["sub"] = "admin";
  std::string forged_payload = base64UrlEncode(boost::json::serialize(claims));
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  std::string forged = good.substr(0, d1 + 1) + forged_payload + good.substr(d2);
  expectUnauthenticated(validate(forged, keys, options(), kNowTp), "signature does not verify");
}

TEST_F(JwtTest, RejectsExpiredAndNotYetValidTokensBeyondTheLeeway) {
  auto keys = jwks();
  auto claims = defaultClaims();
  claims["exp"] = kNow - 61;
  expectUnauthenticated(
      validate(makeToken("HS256", claims, kSecret, nullptr, "hmac-1"), keys, options(), kNowTp),
      "expired");
  claims["exp"] = kNow - 30;  // within the 60 s leeway
  EXPECT_TRUE(
      validate(makeToken("HS256", claims, kSecret, nullptr, "hmac-1"), keys, options(), kNowTp)
          .ok());
  claims = defaultClaims();
  claims["nbf"] = kNow + 120;
  expectUnauthenticated(
      validate(makeToken("HS256", claims, kSecret, nullptr, "hmac-1"), keys, options(), kNowTp),
      "not valid before");
  claims = defaultClaims();
  claims["iat"] = kNow + 120;
  expectUnauthenticated(
      validate(makeToken("HS256", claims, kSecret, nullptr, "hmac-1"), keys, options(), kNowTp),
      "issued in the future");
  claims = defaultClaims();
  claims.erase("exp");
  expectUnauthenticated(
      validate(makeToken("HS256", claims, kSecret, nullptr, "hmac-1"), keys, options(), kNowTp),
      "no exp");
  claims["exp"] = "tomorrow";
  expectUnauthenticated(
      validate(makeToken("HS256", claims, kSecret, nullptr, "hmac-1"), keys, options(), kNowTp),
      "not a number");
}

TEST_F(JwtTest, ChecksIssuerAndAudienceAsApiGatewayDoes) {
  auto keys = jwks();
  auto sign = [&](const boost::json::object& c) {
    return makeToken("HS256", c, kSecret, nullptr, "hmac-1");
  };
  auto claims = defaultClaims();
  claims["iss"] = "https://evil.example";
  expectUnauthenticated(validate(sign(claims), keys, options(), kNowTp), "issuer");
  claims = defaultClaims();
  claims["aud"] = "someone-else";
  expectUnauthenticated(validate(sign(claims), keys, options(), kNowTp), "aud");
  claims["aud"] = boost::json::array{"x", "api"};
  EXPECT_TRUE(validate(sign(claims), keys, options(), kNowTp).ok());
  // client_id counts only without aud.
  claims["client_id"] = "api";
  claims["aud"] = "someone-else";
  expectUnauthenticated(validate(sign(claims), keys, options(), kNowTp), "aud");
  claims.erase("aud");
  EXPECT_TRUE(validate(sign(claims), keys, options(), kNowTp).ok());
  claims["client_id"] = "nope";
  expectUnauthenticated(validate(sign(claims), keys, options(), kNowTp), "client_id");
  claims.erase("client_id");
  expectUnauthenticated(validate(sign(claims), keys, options(), kNowTp), "neither an aud");
}

TEST_F(JwtTest, RequiresOneOfTheRouteScopes) {
  auto keys = jwks();
  auto o = options();
  o.route_scopes = {"admin", "write"};
  EXPECT_TRUE(
      validate(makeToken("HS256", defaultClaims(), kSecret, nullptr, "hmac-1"), keys, o, kNowTp)
          .ok());
  auto claims = defaultClaims();
  claims["scope"] = "read";
  auto r = validate(makeToken("HS256", claims, kSecret, nullptr, "hmac-1"), keys, o, kNowTp);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("admin, write"), std::string::npos);
  claims.erase("scope");
  claims["scp"] = boost::json::array{"other", "admin"};
  r = validate(makeToken("HS256", claims, kSecret, nullptr, "hmac-1"), keys, o, kNowTp);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"other", "admin"}));
  claims.erase("scp");
  r = validate(makeToken("HS256", claims, kSecret, nullptr, "hmac-1"), keys, o, kNowTp);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(JwtTest, RefusesAlgNoneInAnyCase) {
  auto keys = jwks();
  for (std::string alg : {"none", "None", "NONE"}) {
    boost::json::object header{{"alg", alg}};
    std::string token = base64UrlEncode(boost::json::serialize(header)) + "." +
                        base64UrlEncode(boost::json::serialize(defaultClaims())) + ".";
    expectUnauthenticated(validate(token, keys, options(), kNowTp), "unsigned");
    expectUnauthenticated(validate(token + "c2ln", keys, options(), kNowTp), "never accepted");
  }
}

TEST_F(JwtTest, RefusesHs256SignedWithTheRsaPublicKey) {
  // The classic confusion: the attacker signs HS256 with the RSA public key's bytes as secret.
  std::string pem = publicPem(rsa_);
  auto keys = KeySet::fromPem(pem, "rsa-1");
  ASSERT_TRUE(keys.ok());
  std::string token = makeToken("HS256", defaultClaims(), pem, nullptr, "rsa-1");
  expectUnauthenticated(validate(token, *keys, options(), kNowTp), "needs an oct (HMAC) key");
  auto from_jwks = jwks();
  std::string der_n = bnParam(rsa_, OSSL_PKEY_PARAM_RSA_N);
  token = makeToken("HS256", defaultClaims(), der_n, nullptr, "rsa-1");
  expectUnauthenticated(validate(token, from_jwks, options(), kNowTp), "needs an oct (HMAC) key");
  // And ES256 with an RSA kid.
  token = makeToken("ES256", defaultClaims(), "", ec_, "rsa-1");
  expectUnauthenticated(validate(token, from_jwks, options(), kNowTp), "needs an EC P-256 key");
}

TEST_F(JwtTest, RefusesAnUnknownKid) {
  auto keys = jwks();
  std::string token = makeToken("RS256", defaultClaims(), "", rsa_, "rsa-2");
  expectUnauthenticated(validate(token, keys, options(), kNowTp), "kid \"rsa-2\"");
  token = makeToken("RS256", defaultClaims(), "", rsa_);
  expectUnauthenticated(validate(token, keys, options(), kNowTp), "no kid");
}

TEST_F(JwtTest, RefusesMalformedTokens) {
  auto keys = jwks();
  std::string good = makeToken("HS256", defaultClaims(), kSecret, nullptr, "hmac-1");
  ASSERT_TRUE(validate(good, keys, options(), kNowTp).ok());
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  std::string h = good.substr(0, d1), p = good.substr(d1 + 1, d2 - d1 - 1), s = good.substr(d2 + 1);
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty"},
      {"abc", "three parts"},
      {h + "." + p, "three parts"},
      {good + ".x", "three parts"},
      {"." + p + "." + s, "header is empty"},
      {h + ".." + s, "payload is empty"},
      {h + "=." + p + "." + s, "header is not base64url"},
      {h + "." + p + "." + s + "=", "signature is not base64url"},
      {h + "." + p + "." + s + "*", "signature is not base64url"},
      {base64UrlEncode("not json") + "." + p + "." + s, "not JSON"},
      {base64UrlEncode("[1]") + "." + p + "." + s, "not a JSON object"},
      {h + "." + base64UrlEncode("\"str\"") + "." + s, "not a JSON object"},
      {base64UrlEncode(R"({"typ":"JWT"})") + "." + p + "." + s, "no \"alg\""},
      {base64UrlEncode(R"({"alg":"HS512"})") + "." + p + "." + s, "not supported"},
      {base64UrlEncode(R"({"alg":"HS256","kid":7})") + "." + p + "." + s, "kid"},
      {base64UrlEncode(R"({"alg":"HS256","crit":["b64"]})") + "." + p + "." + s, "crit"},
      {std::string(kMaxTokenBytes + 1, 'a'), "longer than"},
  };
  for (const auto& [token, needle] : cases)
    expectUnauthenticated(validate(token, keys, options(), kNowTp), needle);
}

TEST_F(JwtTest, RefusesBadKeys) {
  EXPECT_FALSE(KeySet::fromSecret("short").ok());
  EXPECT_FALSE(
      KeySet::fromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
  Pkey small(EVP_RSA_gen(1024));
  auto r = KeySet::fromPem(publicPem(small.get()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too small"), std::string::npos);
  EXPECT_FALSE(KeySet::fromJwks("{}").ok());
  EXPECT_FALSE(KeySet::fromJwks(R"({"keys":[]})").ok());
  EXPECT_FALSE(KeySet::fromJwks(R"({"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]})").ok());
  EXPECT_FALSE(KeySet::fromJwks(R"({"keys":[{"kty":"oct","k":"c2hvcnQ"}]})").ok());
  // A point not on the curve.
  std::string bad_ec = R"({"keys":[{"kty":"EC","crv":"P-256","x":")" +
                       base64UrlEncode(std::string(32, '\x01')) + R"(","y":")" +
                       base64UrlEncode(std::string(32, '\x02')) + R"("}]})";
  EXPECT_FALSE(KeySet::fromJwks(bad_ec).ok());
  // alg that contradicts kty.
  std::string mismatched =
      R"({"keys":[{"kty":"oct","alg":"RS256","k":")" + base64UrlEncode(kSecret) + R"("}]})";
  EXPECT_FALSE(KeySet::fromJwks(mismatched).ok());
}

TEST(Base64Url, IsStrict) {
  std::string out;
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_TRUE(base64UrlDecode("-_8", out));
  EXPECT_EQ(out, "\xfb\xff");
  EXPECT_FALSE(base64UrlDecode("-_9", out));  // non-zero unused bits
  EXPECT_FALSE(base64UrlDecode("-_8=", out));
  EXPECT_FALSE(base64UrlDecode("+/8", out));
  EXPECT_FALSE(base64UrlDecode("a", out));
  EXPECT_TRUE(base64UrlDecode("", out));
}

TEST(ClaimStrings, FlattenAsApiGatewayDoes) {
  boost::json::object claims{{"sub", "u"},
                             {"exp", 1700000000},
                             {"admin", true},
                             {"groups", boost::json::array{"a", "b"}},
                             {"addr", boost::json::object{{"c", "d"}}}};
  auto s = claimStrings(claims);
  EXPECT_EQ(s["sub"], "u");
  EXPECT_EQ(s["exp"], "1700000000");
  EXPECT_EQ(s["admin"], "true");
  EXPECT_EQ(s["groups"], "[a b]");
  EXPECT_EQ(s["addr"], R"({"c":"d"})");
}

}  // namespace
}  // namespace gust::apigw::jwt
