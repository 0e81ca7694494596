// JSON Web Tokens as an API Gateway HTTP API JWT authorizer checks them: a compact JWS (RFC 7515)
// signed with HS256, RS256 or ES256 (RFC 7518), verified against a key set (a JWKS document,
// RFC 7517, or keys from configuration), then its claims validated as API Gateway does:
//   kid        selects the key (a key configured without a kid matches any token)
//   iss        equal to the configured issuer
//   aud        (string or array) contains a configured audience; client_id is used only when
//              there is no aud
//   exp        after now; nbf and iat (when present) not after now; `leeway` allows for clock skew
//   scope/scp  at least one of the route's authorization scopes, when the route has any
// Tokens are untrusted input: parsing is strict (three base64url parts without padding, JSON
// objects, size limits) and `alg` comes from an allow-list that never includes "none"; a key is
// only ever used with the algorithm of its type, so an RSA public key is never taken as an HMAC
// secret (the "alg confusion" attack).
//
// Errors: kUnauthenticated for a token that is malformed, badly signed or whose claims do not
// hold (API Gateway answers 401); kPermissionDenied for a valid token without a required scope
// (403). Messages say what failed. Everything here is pure and thread-safe; KeySet is immutable
// once built and may be shared between threads.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace gust::apigw::jwt {

inline constexpr size_t kMaxTokenBytes = 16 * 1024;  // API Gateway's header limit is 10 KB
inline constexpr size_t kMaxJwksBytes = 256 * 1024;
inline constexpr size_t kMinHmacSecretBytes = 32;  // RFC 7518 3.2: at least the hash's size
inline constexpr int kMinRsaBits = 2048;           // RFC 7518 3.3
// How far exp, nbf and iat may be off to allow for clock skew between issuer and gateway.
inline constexpr std::chrono::seconds kDefaultLeeway{60};

enum class Alg { kHS256, kRS256, kES256 };
std::string_view algName(Alg alg);

// A verification key. Opaque: made by KeySet.
struct Key;

// The keys a token may be signed with. Immutable once built.
class KeySet {
 public:
  KeySet();
  ~KeySet();
  KeySet(KeySet&&) noexcept;
  KeySet& operator=(KeySet&&) noexcept;
  KeySet(const KeySet&);
  KeySet& operator=(const KeySet&);

  // A JWKS document {"keys": [...]}: kty "RSA" (n, e; at least 2048 bits), "EC" (crv "P-256",
  // x, y) and "oct" (k; at least 32 bytes). Keys with "use" other than "sig", or an "alg" or
  // "kty" Gust does not verify, are skipped (a JWKS may list keys for other purposes); a key of
  // a supported type that is malformed is an error, and so is a document without a usable key.
  static Result<KeySet> fromJwks(std::string_view json);
  // A PEM public key ("-----BEGIN PUBLIC KEY-----": RSA of at least 2048 bits, or EC P-256).
  static Result<KeySet> fromPem(std::string_view pem, std::string kid = {});
  // An HMAC secret for HS256 (at least kMinHmacSecretBytes bytes).
  static Result<KeySet> fromSecret(std::string_view secret, std::string kid = {});

  // Adds the keys of `other` (e.g. a JWKS file and a configured secret).
  void merge(const KeySet& other);
  size_t size() const { return keys_.size(); }

  // Verifies `signature` over `signing_input` made with `alg` by a key for `kid` (empty: the
  // token has none). kUnauthenticated with the reason when no key matches or none verifies.
  Status verify(Alg alg, std::string_view kid, std::string_view signing_input,
                std::string_view signature) const;

 private:
  std::vector<std::shared_ptr<const Key>> keys_;
};

// A token split and decoded, its signature not yet checked.
struct Token {
  Alg alg = Alg::kHS256;
  std::string kid;
  boost::json::object header;
  boost::json::object claims;
  std::string signing_input;  // "<header>.<payload>" as received
  std::string signature;      // raw bytes
};
// Structural parsing only (never trust the result before verify()). kUnauthenticated on any
// malformation, with what is wrong.
Result<Token> parse(std::string_view compact);

struct ValidationOptions {
  std::string issuer;                     // required: the token's iss must equal it
  std::vector<std::string> audiences;     // the token's aud (or client_id) must contain one
  std::vector<std::string> route_scopes;  // empty: no scope is required
  std::chrono::seconds leeway = kDefaultLeeway;
};

struct Validated {
  boost::json::object claims;
  std::vector<std::string> scopes;  // from scope (space-separated) or scp (array)
};

// parse + signature + claims. `now` is the gateway's clock.
Result<Validated> validate(std::string_view compact, const KeySet& keys,
                           const ValidationOptions& options,
                           std::chrono::system_clock::time_point now);

// The claims as API Gateway passes them to a function (requestContext.authorizer.jwt.claims):
// strings as they are, numbers and booleans as their JSON text, arrays as "[a b c]", objects as
// JSON text.
std::map<std::string, std::string> claimStrings(const boost::json::object& claims);

// base64url without padding (RFC 7515 section 2), and its strict inverse (false on characters
// outside the alphabet, padding, or a non-canonical final character).
std::string base64UrlEncode(std::string_view data);
bool base64UrlDecode(std::string_view in, std::string& out);

}  // namespace gust::apigw::jwt
