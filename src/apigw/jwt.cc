#include "apigw/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/crypto.h"

namespace gust::apigw::jwt {

enum class KeyType { kOct, kRsa, kEc };

struct Key {
  std::string kid;
  KeyType type = KeyType::kOct;
  std::optional<Alg> alg;          // the JWKS "alg", when it names one
  std::string secret;              // kOct
  std::shared_ptr<EVP_PKEY> pkey;  // kRsa, kEc
};

namespace {

Error unauthenticated(std::string message) {
  return {ErrorCode::kUnauthenticated, std::move(message)};
}

// OpenSSL reports failures on a per-thread queue; a failed verification of untrusted input is
// expected, so the queue is cleared rather than left to confuse the next caller on this thread.
struct ClearOpenSslErrors {
  ~ClearOpenSslErrors() { ERR_clear_error(); }
};

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

std::shared_ptr<EVP_PKEY> ownPkey(EVP_PKEY* p) { return {p, EVP_PKEY_free}; }

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string_view keyTypeName(KeyType t) {
  switch (t) {
    case KeyType::kOct:
      return "an oct (HMAC)";
    case KeyType::kRsa:
      return "an RSA";
    case KeyType::kEc:
      return "an EC P-256";
  }
  return "an unknown";
}

KeyType keyTypeFor(Alg alg) {
  switch (alg) {
    case Alg::kHS256:
      return KeyType::kOct;
    case Alg::kRS256:
      return KeyType::kRsa;
    case Alg::kES256:
      return KeyType::kEc;
  }
  return KeyType::kOct;
}

std::optional<Alg> algFromName(std::string_view name) {
  if (name == "HS256") return Alg::kHS256;
  if (name == "RS256") return Alg::kRS256;
  if (name == "ES256") return Alg::kES256;
  return std::nullopt;
}

// Checks that a public key is one Gust verifies with and returns its type.
Result<KeyType> checkPublicKey(EVP_PKEY* pkey) {
  int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(pkey) < kMinRsaBits)
      return Error::invalid(fmt::format("RSA key of {} bits is too small: use at least {} bits",
                                        EVP_PKEY_get_bits(pkey), kMinRsaBits));
    return KeyType::kRsa;
  }
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1 ||
        std::string_view(group, len) != "prime256v1")
      return Error::invalid("EC key is not on the P-256 curve (ES256 needs P-256)");
    return KeyType::kEc;
  }
  return Error::invalid("public key is neither RSA nor EC P-256 (supported: RS256, ES256)");
}

Result<std::shared_ptr<EVP_PKEY>> pkeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  Params params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return Error::invalid(fmt::format("not a valid {} public key", type));
  auto pkey = ownPkey(raw);
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return Error::invalid(fmt::format("not a valid {} public key", type));
  return pkey;
}

Result<std::string> jwkMember(const boost::json::object& jwk, std::string_view name,
                              std::string_view what) {
  const auto* v = jwk.if_contains(name);
  if (v == nullptr || !v->is_string())
    return Error::invalid(fmt::format("{} needs \"{}\" (a base64url string)", what, name));
  std::string out;
  if (!base64UrlDecode(v->as_string(), out) || out.empty())
    return Error::invalid(fmt::format("{}: \"{}\" is not base64url", what, name));
  return out;
}

Result<std::shared_ptr<EVP_PKEY>> rsaFromJwk(const boost::json::object& jwk,
                                             std::string_view what) {
  GUST_ASSIGN_OR_RETURN(std::string n, jwkMember(jwk, "n", what));
  GUST_ASSIGN_OR_RETURN(std::string e, jwkMember(jwk, "e", what));
  Bignum bn_n(BN_bin2bn(bytes(n), static_cast<int>(n.size()), nullptr));
  Bignum bn_e(BN_bin2bn(bytes(e), static_cast<int>(e.size()), nullptr));
  ParamBld bld(OSSL_PARAM_BLD_new());
  GUST_CHECK(bn_n && bn_e && bld, "OpenSSL allocation failed");
  if (OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return Error::invalid(fmt::format("{}: n or e is not a valid number", what));
  auto pkey = pkeyFromParams("RSA", bld.get());
  if (!pkey.ok()) return Error::invalid(fmt::format("{}: {}", what, pkey.error().message));
  return pkey;
}

Result<std::shared_ptr<EVP_PKEY>> ecFromJwk(const boost::json::object& jwk, std::string_view what) {
  const auto* crv = jwk.if_contains("crv");
  if (crv == nullptr || !crv->is_string() || crv->as_string() != "P-256")
    return Error::invalid(fmt::format("{}: \"crv\" must be \"P-256\" (ES256)", what));
  GUST_ASSIGN_OR_RETURN(std::string x, jwkMember(jwk, "x", what));
  GUST_ASSIGN_OR_RETURN(std::string y, jwkMember(jwk, "y", what));
  if (x.size() != 32 || y.size() != 32)
    return Error::invalid(fmt::format("{}: x and y must be 32 bytes each for P-256", what));
  std::string point = "\x04" + x + y;  // SEC 1 uncompressed point
  ParamBld bld(OSSL_PARAM_BLD_new());
  GUST_CHECK(bld != nullptr, "OpenSSL allocation failed");
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1)
    return Error::invalid(fmt::format("{}: not a valid P-256 point", what));
  auto pkey = pkeyFromParams("EC", bld.get());
  if (!pkey.ok()) return Error::invalid(fmt::format("{}: x, y is not a point on P-256", what));
  return pkey;
}

bool verifyWithPkey(EVP_PKEY* pkey, std::string_view data, std::string_view signature) {
  MdCtx md(EVP_MD_CTX_new());
  GUST_CHECK(md != nullptr, "OpenSSL allocation failed");
  return EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
         EVP_DigestVerify(md.get(), bytes(signature), signature.size(), bytes(data), data.size()) ==
             1;
}

// JWS ES256 signatures are r || s, 32 bytes each (RFC 7518 3.4); OpenSSL verifies DER.
std::optional<std::string> es256ToDer(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw) + 32, 32, nullptr);
  GUST_CHECK(sig && r && s, "OpenSSL allocation failed");
  // ECDSA_SIG_set0 takes ownership of r and s.
  GUST_CHECK(ECDSA_SIG_set0(sig.get(), r, s) == 1, "ECDSA_SIG_set0 failed");
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool verifyWithKey(const Key& key, Alg alg, std::string_view data, std::string_view signature) {
  switch (alg) {
    case Alg::kHS256:
      return constantTimeEquals(hmacSha256(key.secret, data), signature);
    case Alg::kRS256:
      return static_cast<int>(signature.size()) == EVP_PKEY_get_size(key.pkey.get()) &&
             verifyWithPkey(key.pkey.get(), data, signature);
    case Alg::kES256: {
      auto der = es256ToDer(signature);
      return der && verifyWithPkey(key.pkey.get(), data, *der);
    }
  }
  return false;
}

Result<boost::json::object> decodeJsonPart(std::string_view part, std::string_view what) {
  std::string decoded;
  if (part.empty()) return unauthenticated(fmt::format("the token's {} is empty", what));
  if (!base64UrlDecode(part, decoded))
    return unauthenticated(fmt::format("the token's {} is not base64url", what));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(decoded, ec);
  if (ec) return unauthenticated(fmt::format("the token's {} is not JSON: {}", what, ec.message()));
  if (!v.is_object())
    return unauthenticated(fmt::format("the token's {} is not a JSON object", what));
  return std::move(v.as_object());
}

std::optional<double> numberClaim(const boost::json::object& claims, std::string_view name,
                                  bool& malformed) {
  const auto* v = claims.if_contains(name);
  if (v == nullptr) return std::nullopt;
  boost::system::error_code ec;
  double d = v->is_number() ? v->to_number<double>(ec) : 0;
  if (!v->is_number() || ec || !std::isfinite(d)) {
    malformed = true;
    return std::nullopt;
  }
  return d;
}

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

Status checkAudience(const boost::json::object& claims, const std::vector<std::string>& audiences) {
  if (const auto* aud = claims.if_contains("aud")) {
    if (aud->is_string()) {
      if (contains(audiences, aud->as_string())) return okStatus();
    } else if (aud->is_array()) {
      for (const auto& a : aud->as_array())
        if (a.is_string() && contains(audiences, a.as_string())) return okStatus();
    } else {
      return unauthenticated("the token's aud claim is neither a string nor an array");
    }
    return unauthenticated("the token's aud claim contains none of the authorizer's audiences");
  }
  // API Gateway looks at client_id only when there is no aud.
  if (const auto* client_id = claims.if_contains("client_id")) {
    if (client_id->is_string() && contains(audiences, client_id->as_string())) return okStatus();
    return unauthenticated("the token's client_id is none of the authorizer's audiences");
  }
  return unauthenticated("the token has neither an aud nor a client_id claim");
}

Result<std::vector<std::string>> tokenScopes(const boost::json::object& claims) {
  std::vector<std::string> scopes;
  auto split = [&scopes](std::string_view s) {
    while (!s.empty()) {
      size_t sp = s.find(' ');
      if (sp != 0) scopes.emplace_back(s.substr(0, sp));
      s.remove_prefix(sp == std::string_view::npos ? s.size() : sp + 1);
    }
  };
  if (const auto* scope = claims.if_contains("scope")) {
    if (!scope->is_string()) return unauthenticated("the token's scope claim is not a string");
    split(scope->as_string());
  } else if (const auto* scp = claims.if_contains("scp")) {
    if (scp->is_string()) {
      split(scp->as_string());
    } else if (scp->is_array()) {
      for (const auto& s : scp->as_array()) {
        if (!s.is_string()) return unauthenticated("the token's scp claim holds a non-string");
        scopes.emplace_back(s.as_string());
      }
    } else {
      return unauthenticated("the token's scp claim is neither an array nor a string");
    }
  }
  return scopes;
}

}  // namespace

std::string_view algName(Alg alg) {
  switch (alg) {
    case Alg::kHS256:
      return "HS256";
    case Alg::kRS256:
      return "RS256";
    case Alg::kES256:
      return "ES256";
  }
  return "?";
}

// ---- base64url ----

std::string base64UrlEncode(std::string_view data) {
  std::string out = base64Encode(data);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

bool base64UrlDecode(std::string_view in, std::string& out) {
  if (in.size() % 4 == 1) return false;
  std::string std_b64;
  std_b64.reserve(in.size() + 3);
  for (char c : in) {
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum)
      std_b64 += c;
    else if (c == '-')
      std_b64 += '+';
    else if (c == '_')
      std_b64 += '/';
    else
      return false;
  }
  while (std_b64.size() % 4 != 0) std_b64 += '=';
  if (!base64Decode(std_b64, out)) return false;
  // Unused low bits of the last character must be zero, so each value has one encoding.
  return base64UrlEncode(out) == in;
}

// ---- KeySet ----

KeySet::KeySet() = default;
KeySet::~KeySet() = default;
KeySet::KeySet(KeySet&&) noexcept = default;
KeySet& KeySet::operator=(KeySet&&) noexcept = default;
KeySet::KeySet(const KeySet&) = default;
KeySet& KeySet::operator=(const KeySet&) = default;

void KeySet::merge(const KeySet& other) {
  keys_.insert(keys_.end(), other.keys_.begin(), other.keys_.end());
}

Result<KeySet> KeySet::fromJwks(std::string_view json) {
  ClearOpenSslErrors clear;
  if (json.size() > kMaxJwksBytes)
    return Error::invalid(fmt::format("JWKS is larger than {} bytes", kMaxJwksBytes));
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(json, ec);
  if (ec) return Error::invalid(fmt::format("JWKS is not JSON: {}", ec.message()));
  const auto* keys = doc.is_object() ? doc.as_object().if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array())
    return Error::invalid("JWKS must be an object with a \"keys\" array (RFC 7517)");
  KeySet set;
  size_t index = 0;
  for (const auto& v : keys->as_array()) {
    std::string what = fmt::format("JWKS key {}", index++);
    if (!v.is_object()) return Error::invalid(what + " is not an object");
    const auto& jwk = v.as_object();
    auto key = std::make_shared<Key>();
    if (const auto* kid = jwk.if_contains("kid")) {
      if (!kid->is_string()) return Error::invalid(what + ": \"kid\" must be a string");
      key->kid = kid->as_string();
      what += fmt::format(" (kid \"{}\")", key->kid);
    }
    if (const auto* use = jwk.if_contains("use"); use != nullptr) {
      if (!use->is_string()) return Error::invalid(what + ": \"use\" must be a string");
      if (use->as_string() != "sig") continue;  // an encryption key
    }
    if (const auto* alg = jwk.if_contains("alg"); alg != nullptr) {
      if (!alg->is_string()) return Error::invalid(what + ": \"alg\" must be a string");
      key->alg = algFromName(alg->as_string());
      if (!key->alg) continue;  // an algorithm Gust does not verify
    }
    const auto* kty = jwk.if_contains("kty");
    if (kty == nullptr || !kty->is_string())
      return Error::invalid(what + " needs \"kty\" (RSA, EC or oct)");
    std::string_view type = kty->as_string();
    if (type == "RSA") {
      key->type = KeyType::kRsa;
      GUST_ASSIGN_OR_RETURN(key->pkey, rsaFromJwk(jwk, what));
    } else if (type == "EC") {
      key->type = KeyType::kEc;
      GUST_ASSIGN_OR_RETURN(key->pkey, ecFromJwk(jwk, what));
    } else if (type == "oct") {
      key->type = KeyType::kOct;
      GUST_ASSIGN_OR_RETURN(key->secret, jwkMember(jwk, "k", what));
      if (key->secret.size() < kMinHmacSecretBytes)
        return Error::invalid(
            fmt::format("{}: an HS256 secret needs at least {} bytes", what, kMinHmacSecretBytes));
    } else {
      continue;  // e.g. OKP: not verified by Gust
    }
    if (key->type != KeyType::kOct) {
      auto checked = checkPublicKey(key->pkey.get());
      if (!checked.ok()) return Error::invalid(what + ": " + checked.error().message);
    }
    if (key->alg && keyTypeFor(*key->alg) != key->type)
      return Error::invalid(
          fmt::format("{}: \"alg\" {} does not match kty {}", what, algName(*key->alg), type));
    set.keys_.push_back(std::move(key));
  }
  if (set.keys_.empty())
    return Error::invalid(
        "JWKS has no key Gust can verify with (RSA, EC P-256 or oct keys for signing)");
  return set;
}

Result<KeySet> KeySet::fromPem(std::string_view pem, std::string kid) {
  ClearOpenSslErrors clear;
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  GUST_CHECK(bio != nullptr, "OpenSSL allocation failed");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr)
    return Error::invalid(
        "not a PEM public key: expected \"-----BEGIN PUBLIC KEY-----\" (e.g. from `openssl pkey "
        "-pubout`)");
  auto key = std::make_shared<Key>();
  key->pkey = ownPkey(raw);
  key->kid = std::move(kid);
  GUST_ASSIGN_OR_RETURN(key->type, checkPublicKey(raw));
  KeySet set;
  set.keys_.push_back(std::move(key));
  return set;
}

Result<KeySet> KeySet::fromSecret(std::string_view secret, std::string kid) {
  if (secret.size() < kMinHmacSecretBytes)
    return Error::invalid(fmt::format("an HS256 secret needs at least {} bytes, got {}",
                                      kMinHmacSecretBytes, secret.size()));
  auto key = std::make_shared<Key>();
  key->type = KeyType::kOct;
  key->secret = secret;
  key->kid = std::move(kid);
  KeySet set;
  set.keys_.push_back(std::move(key));
  return set;
}

Status KeySet::verify(Alg alg, std::string_view kid, std::string_view signing_input,
                      std::string_view signature) const {
  ClearOpenSslErrors clear;
  std::vector<const Key*> by_kid;
  for (const auto& k : keys_)
    if (k->kid.empty() || k->kid == kid) by_kid.push_back(k.get());
  if (by_kid.empty()) {
    if (kid.empty())
      return unauthenticated("the token has no kid, and every key of the authorizer has one");
    return unauthenticated(fmt::format("no key of the authorizer has kid \"{}\"", kid));
  }
  bool any_compatible = false;
  for (const Key* k : by_kid) {
    if (k->type != keyTypeFor(alg) || (k->alg && *k->alg != alg)) continue;
    any_compatible = true;
    if (verifyWithKey(*k, alg, signing_input, signature)) return okStatus();
  }
  if (!any_compatible)
    return unauthenticated(
        fmt::format("the token's alg {} needs {} key, and the authorizer has none{}", algName(alg),
                    keyTypeName(keyTypeFor(alg)),
                    kid.empty() ? std::string() : fmt::format(" for kid \"{}\"", kid)));
  return unauthenticated("the token's signature does not verify");
}

// ---- tokens ----

Result<Token> parse(std::string_view compact) {
  if (compact.empty()) return unauthenticated("the token is empty");
  if (compact.size() > kMaxTokenBytes)
    return unauthenticated(fmt::format("the token is longer than {} bytes", kMaxTokenBytes));
  size_t dot1 = compact.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos)
    return unauthenticated("the token is not a JWS: it must have three parts separated by '.'");
  Token token;
  GUST_ASSIGN_OR_RETURN(token.header, decodeJsonPart(compact.substr(0, dot1), "header"));
  GUST_ASSIGN_OR_RETURN(token.claims,
                        decodeJsonPart(compact.substr(dot1 + 1, dot2 - dot1 - 1), "payload"));
  std::string_view sig = compact.substr(dot2 + 1);
  if (sig.empty())
    return unauthenticated("the token has no signature (unsigned tokens are refused)");
  if (!base64UrlDecode(sig, token.signature))
    return unauthenticated("the token's signature is not base64url");

  const auto* alg = token.header.if_contains("alg");
  if (alg == nullptr || !alg->is_string())
    return unauthenticated("the token's header has no \"alg\"");
  std::string_view name = alg->as_string();
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "none") return unauthenticated("alg \"none\" (an unsigned token) is never accepted");
  auto parsed_alg = algFromName(name);
  if (!parsed_alg)
    return unauthenticated(
        fmt::format("the token's alg \"{}\" is not supported (HS256, RS256, ES256)", name));
  token.alg = *parsed_alg;
  if (const auto* kid = token.header.if_contains("kid")) {
    if (!kid->is_string()) return unauthenticated("the token's \"kid\" is not a string");
    token.kid = kid->as_string();
  }
  if (token.header.contains("crit"))
    return unauthenticated("the token's header has \"crit\" extensions, which are not supported");
  token.signing_input = std::string(compact.substr(0, dot2));
  return token;
}

Result<Validated> validate(std::string_view compact, const KeySet& keys,
                           const ValidationOptions& options,
                           std::chrono::system_clock::time_point now) {
  GUST_ASSIGN_OR_RETURN(Token token, parse(compact));
  GUST_TRY(keys.verify(token.alg, token.kid, token.signing_input, token.signature));
  const auto& claims = token.claims;

  const auto* iss = claims.if_contains("iss");
  if (iss == nullptr || !iss->is_string()) return unauthenticated("the token has no iss claim");
  if (iss->as_string() != options.issuer)
    return unauthenticated(fmt::format("the token's issuer \"{}\" is not the authorizer's",
                                       std::string_view(iss->as_string())));
  GUST_TRY(checkAudience(claims, options.audiences));

  double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  auto leeway = static_cast<double>(options.leeway.count());
  bool malformed = false;
  auto exp = numberClaim(claims, "exp", malformed);
  auto nbf = numberClaim(claims, "nbf", malformed);
  auto iat = numberClaim(claims, "iat", malformed);
  if (malformed) return unauthenticated("the token's exp, nbf or iat is not a number");
  if (!exp) return unauthenticated("the token has no exp claim");
  if (now_s >= *exp + leeway)
    return unauthenticated(fmt::format("the token expired at {:.0f} (now {:.0f})", *exp, now_s));
  if (nbf && *nbf > now_s + leeway)
    return unauthenticated(
        fmt::format("the token is not valid before {:.0f} (now {:.0f})", *nbf, now_s));
  if (iat && *iat > now_s + leeway)
    return unauthenticated(
        fmt::format("the token was issued in the future ({:.0f}, now {:.0f})", *iat, now_s));

  GUST_ASSIGN_OR_RETURN(std::vector<std::string> scopes, tokenScopes(claims));
  if (!options.route_scopes.empty()) {
    bool any = std::any_of(options.route_scopes.begin(), options.route_scopes.end(),
                           [&](const std::string& s) { return contains(scopes, s); });
    if (!any)
      return Error{ErrorCode::kPermissionDenied,
                   fmt::format("the token has none of the route's authorization scopes ({})",
                               fmt::join(options.route_scopes, ", "))};
  }
  return Validated{std::move(token.claims), std::move(scopes)};
}

namespace {

std::string claimText(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_array()) {
    std::string out = "[";
    bool first = true;
    for (const auto& e : v.as_array()) {
      if (!first) out += ' ';
      first = false;
      out += claimText(e);
    }
    return out + "]";
  }
  return boost::json::serialize(v);
}

}  // namespace

std::map<std::string, std::string> claimStrings(const boost::json::object& claims) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : claims) out[std::string(name)] = claimText(value);
  return out;
}

}  // namespace gust::apigw::jwt
