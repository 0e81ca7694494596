// Hashes, MACs, authenticated encryption and random identifiers (OpenSSL underneath).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust {

// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);
// Standard base64 (RFC 4648) of the SHA-256 digest, as Lambda reports CodeSha256.
std::string sha256Base64(std::string_view data);
// Raw SHA-256 digest (32 bytes) of `data`.
std::string sha256Raw(std::string_view data);
// Raw HMAC-SHA256 (32 bytes) of `data` under `key`, and the same as lower-case hex.
std::string hmacSha256(std::string_view key, std::string_view data);
std::string hmacSha256Hex(std::string_view key, std::string_view data);
// Lower-case hex of arbitrary bytes.
std::string hexEncode(std::string_view bytes);
// `bytes` cryptographically random bytes, raw.
std::string randomBytes(size_t bytes);
// `bytes` cryptographically random bytes as lower-case hex.
std::string randomHex(size_t bytes);
// A random (version 4) UUID, e.g. for request ids.
std::string uuid4();
// Constant-time comparison, for secrets.
bool constantTimeEquals(std::string_view a, std::string_view b);

std::string base64Encode(std::string_view data);
// Returns false on malformed input.
bool base64Decode(std::string_view in, std::string& out);

// Authenticated encryption for secrets at rest: AES-256-GCM with a fresh random 96-bit nonce per
// call and a 128-bit tag. `key` must be kSealKeyBytes long (see loadOrCreateKeyFile in
// common/files.h). `associated_data` is authenticated but not stored: open() must be given the
// same bytes, which binds a sealed value to its context (e.g. the id of the record holding it),
// so a sealed value copied into another record does not open.
//
// The sealed form is printable ASCII, safe for TEXT columns: "gs1:" + base64(nonce | ciphertext
// | tag). seal fails only for a key of the wrong size; open fails with kInvalidArgument for a
// key of the wrong size, a malformed value, or one that does not authenticate (tampered,
// truncated, sealed under another key or for other associated data) — it never returns
// unauthenticated plaintext. Both are thread-safe.
inline constexpr size_t kSealKeyBytes = 32;
Result<std::string> seal(std::string_view key, std::string_view plaintext,
                         std::string_view associated_data = {});
Result<std::string> open(std::string_view key, std::string_view sealed,
                         std::string_view associated_data = {});

}  // namespace gust
