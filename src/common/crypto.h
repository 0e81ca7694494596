// Hashes and random identifiers (OpenSSL underneath).
#pragma once

#include <string>
#include <string_view>

namespace gust {

// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);
// Standard base64 (RFC 4648) of the SHA-256 digest, as Lambda reports CodeSha256.
std::string sha256Base64(std::string_view data);
// `bytes` cryptographically random bytes as lower-case hex.
std::string randomHex(size_t bytes);
// A random (version 4) UUID, e.g. for request ids.
std::string uuid4();
// Constant-time comparison, for secrets.
bool constantTimeEquals(std::string_view a, std::string_view b);

std::string base64Encode(std::string_view data);
// Returns false on malformed input.
bool base64Decode(std::string_view in, std::string& out);

}  // namespace gust
