#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <climits>
#include <memory>

#include <fmt/format.h>

#include "common/check.h"

namespace gust {
namespace {

std::array<unsigned char, SHA256_DIGEST_LENGTH> digest(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data());
  return md;
}

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  auto md = digest(data);
  return hex(md.data(), md.size());
}

std::string sha256Raw(std::string_view data) {
  auto md = digest(data);
  return std::string(reinterpret_cast<const char*>(md.data()), md.size());
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  GUST_CHECK(key.size() <= INT_MAX, "HMAC key too long");
  // HMAC() fails only on allocation failure or a broken OpenSSL: nothing to recover.
  GUST_CHECK(
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len) != nullptr,
      "OpenSSL HMAC failed");
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string hmacSha256Hex(std::string_view key, std::string_view data) {
  return hexEncode(hmacSha256(key, data));
}

std::string hexEncode(std::string_view bytes) {
  return hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string randomBytes(size_t bytes) {
  std::string raw(bytes, '\0');
  GUST_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) == 1,
             "OpenSSL RAND_bytes failed");
  return raw;
}

std::string sha256Base64(std::string_view data) {
  auto md = digest(data);
  return base64Encode(std::string_view(reinterpret_cast<const char*>(md.data()), md.size()));
}

std::string randomHex(size_t bytes) {
  // RAND_bytes fails only if the CSPRNG cannot be seeded: nothing safe can be done then.
  return hexEncode(randomBytes(bytes));
}

std::string uuid4() {
  unsigned char b[16];
  GUST_CHECK(RAND_bytes(b, sizeof b) == 1, "OpenSSL RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string h = hex(b, sizeof b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool base64Decode(std::string_view in, std::string& out) {
  if (in.size() % 4 != 0) return false;
  out.assign(3 * (in.size() / 4), '\0');
  if (in.empty()) return true;
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return false;
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return true;
}

namespace {

constexpr std::string_view kSealPrefix = "gs1:";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// EVP lengths are ints; secrets at rest are small, but refuse rather than truncate.
bool fitsInt(std::string_view s) { return s.size() <= static_cast<size_t>(INT_MAX) / 2; }

}  // namespace

Result<std::string> seal(std::string_view key, std::string_view plaintext,
                         std::string_view associated_data) {
  if (key.size() != kSealKeyBytes)
    return Error::invalid(
        fmt::format("sealing key must be {} bytes, got {}", kSealKeyBytes, key.size()));
  if (!fitsInt(plaintext) || !fitsInt(associated_data))
    return Error::invalid("value too large to seal");
  std::string nonce = randomBytes(kNonceBytes);
  std::string out = nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* ct = reinterpret_cast<unsigned char*>(out.data()) + kNonceBytes;

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  GUST_CHECK(ctx != nullptr, "EVP_CIPHER_CTX_new failed");
  int len = 0;
  // With a valid key and nonce size these calls fail only if OpenSSL itself is broken.
  GUST_CHECK(
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
          EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
          EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(nonce)) == 1,
      "AES-256-GCM init failed");
  if (!associated_data.empty())
    GUST_CHECK(EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(associated_data),
                                 static_cast<int>(associated_data.size())) == 1,
               "AES-256-GCM AAD failed");
  GUST_CHECK(EVP_EncryptUpdate(ctx.get(), ct, &len, bytes(plaintext),
                               static_cast<int>(plaintext.size())) == 1,
             "AES-256-GCM encrypt failed");
  int tail = 0;
  GUST_CHECK(EVP_EncryptFinal_ex(ctx.get(), ct + len, &tail) == 1 &&
                 len + tail == static_cast<int>(plaintext.size()),
             "AES-256-GCM final failed");
  GUST_CHECK(
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plaintext.size()) == 1,
      "AES-256-GCM tag failed");
  return std::string(kSealPrefix) + base64Encode(out);
}

Result<std::string> open(std::string_view key, std::string_view sealed,
                         std::string_view associated_data) {
  if (key.size() != kSealKeyBytes)
    return Error::invalid(
        fmt::format("sealing key must be {} bytes, got {}", kSealKeyBytes, key.size()));
  if (sealed.substr(0, kSealPrefix.size()) != kSealPrefix)
    return Error::invalid("not a sealed value (expected the \"gs1:\" prefix)");
  std::string raw;
  if (!base64Decode(sealed.substr(kSealPrefix.size()), raw) || raw.size() < kNonceBytes + kTagBytes)
    return Error::invalid("sealed value is malformed or truncated");
  if (!fitsInt(raw) || !fitsInt(associated_data)) return Error::invalid("sealed value too large");
  std::string_view nonce = std::string_view(raw).substr(0, kNonceBytes);
  std::string_view ct =
      std::string_view(raw).substr(kNonceBytes, raw.size() - kNonceBytes - kTagBytes);
  std::string tag(raw, raw.size() - kTagBytes);

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  GUST_CHECK(ctx != nullptr, "EVP_CIPHER_CTX_new failed");
  GUST_CHECK(
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
          EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
          EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(nonce)) == 1,
      "AES-256-GCM init failed");
  int len = 0;
  if (!associated_data.empty())
    GUST_CHECK(EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(associated_data),
                                 static_cast<int>(associated_data.size())) == 1,
               "AES-256-GCM AAD failed");
  std::string plaintext(ct.size(), '\0');
  auto* pt = reinterpret_cast<unsigned char*>(plaintext.data());
  GUST_CHECK(EVP_DecryptUpdate(ctx.get(), pt, &len, bytes(ct), static_cast<int>(ct.size())) == 1,
             "AES-256-GCM decrypt failed");
  GUST_CHECK(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1,
             "AES-256-GCM set tag failed");
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), pt + len, &tail) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return Error::invalid(
        "sealed value failed authentication: it was modified, or sealed under another key or "
        "for another record");
  }
  return plaintext;
}

}  // namespace gust
