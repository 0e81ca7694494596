#include "auth/credentials.h"

#include <time.h>

#include <openssl/crypto.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/crypto.h"

namespace gust::auth {
namespace {

constexpr std::string_view kKeyIdPrefix = "GKIA";
constexpr size_t kKeyIdLength = 20;
constexpr size_t kSecretRandomBytes = 30;  // base64: exactly 40 characters
constexpr size_t kMaxDescriptionBytes = 256;
constexpr int kCreateAttempts = 5;

// AWS access key ids are upper-case letters and the digits 2-7 (base32's alphabet).
std::string newAccessKeyId() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string id(kKeyIdPrefix);
  std::string random = randomBytes(kKeyIdLength - kKeyIdPrefix.size());
  for (char c : random) id.push_back(kAlphabet[static_cast<unsigned char>(c) % 32]);  // 32 | 256
  return id;
}

std::string nowIso8601() {
  time_t now = time(nullptr);
  struct tm tm {};
  gmtime_r(&now, &tm);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

Status validateDescription(std::string_view description) {
  if (description.size() > kMaxDescriptionBytes) {
    return Error::invalid(fmt::format("description is {} bytes; at most {} are allowed",
                                      description.size(), kMaxDescriptionBytes));
  }
  for (char c : description) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return Error::invalid("description must not contain control characters");
  }
  return okStatus();
}

void wipe(std::string& s) { OPENSSL_cleanse(s.data(), s.size()); }

}  // namespace

std::string credentialSealContext(std::string_view access_key_id) {
  return fmt::format("gust access key {}", access_key_id);
}

CredentialService::CredentialService(CredentialStore& store, std::string sealing_key,
                                     CredentialServiceOptions options)
    : store_(store), sealing_key_(std::move(sealing_key)), options_(std::move(options)) {
  // A wrong-size key is a wiring bug: loadOrCreateKeyFile returns exactly kSealKeyBytes.
  GUST_CHECK(sealing_key_.size() == kSealKeyBytes, "credential sealing key has the wrong size");
}

Result<NewCredential> CredentialService::create(std::string_view description) {
  GUST_TRY(validateDescription(description));
  std::string secret = base64Encode(randomBytes(kSecretRandomBytes));
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    StoredCredential record;
    record.access_key_id = newAccessKeyId();
    GUST_ASSIGN_OR_RETURN(record.sealed_secret,
                          seal(sealing_key_, secret, credentialSealContext(record.access_key_id)));
    record.description = std::string(description);
    record.created = nowIso8601();
    Status put = store_.putCredential(record);
    if (!put.ok()) {
      if (put.error().code == ErrorCode::kAlreadyExists) continue;  // 80 random bits collided
      wipe(secret);
      return put.error();
    }
    spdlog::info("access key {} created", record.access_key_id);
    return NewCredential{std::move(record.access_key_id), std::move(secret),
                         std::move(record.description), std::move(record.created)};
  }
  wipe(secret);
  return Error::internal("could not find an unused access key id; try again");
}

Result<std::vector<CredentialInfo>> CredentialService::list() {
  GUST_ASSIGN_OR_RETURN(auto records, store_.listCredentials());
  std::vector<CredentialInfo> out;
  out.reserve(records.size());
  for (auto& r : records)
    out.push_back({std::move(r.access_key_id), std::move(r.description), std::move(r.created)});
  return out;
}

void CredentialService::forget(std::string_view access_key_id) {
  std::lock_guard lock(mu_);
  ++revocations_;
  if (auto it = cache_.find(std::string(access_key_id)); it != cache_.end()) {
    wipe(it->second.secret);
    cache_.erase(it);
  }
}

Status CredentialService::revoke(std::string_view access_key_id) {
  // Forget the secret before the delete (so requests stop verifying at once) and after it (so
  // a secretFor() that read the record before the delete cannot cache it: see secretFor).
  forget(access_key_id);
  Status deleted = store_.deleteCredential(access_key_id);
  forget(access_key_id);
  if (!deleted.ok()) {
    if (deleted.error().code == ErrorCode::kNotFound)
      return Error::notFound(fmt::format("access key {} does not exist", access_key_id));
    return deleted;
  }
  spdlog::info("access key {} revoked", access_key_id);
  return okStatus();
}

Result<std::string> CredentialService::secretFor(std::string_view access_key_id) {
  std::string id(access_key_id);
  uint64_t revocations_before = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(id); it != cache_.end()) {
      if (options_.clock() < it->second.expires) return it->second.secret;
      wipe(it->second.secret);
      cache_.erase(it);
    }
    revocations_before = revocations_;
  }
  // Read outside the lock, as the store may be slow. A revoke that overlaps this read bumps
  // revocations_ after its delete, so what was read is cached only if no revoke did.
  Result<StoredCredential> record = store_.getCredential(id);
  if (!record.ok()) {
    if (record.error().code == ErrorCode::kNotFound)
      return Error::notFound(fmt::format("access key {} does not exist", id));
    return record.error();
  }
  Result<std::string> secret = open(sealing_key_, record->sealed_secret, credentialSealContext(id));
  if (!secret.ok()) {
    return Error::internal(fmt::format(
        "the stored secret of access key {} cannot be opened ({}); was the server's sealing key "
        "replaced? Revoke the key and create a new one",
        id, secret.error().message));
  }
  std::lock_guard lock(mu_);
  if (revocations_ == revocations_before)
    cache_[id] = CachedSecret{*secret, options_.clock() + options_.cache_ttl};
  return secret;
}

SecretLookup CredentialService::lookup() {
  return [this](std::string_view id) { return secretFor(id); };
}

}  // namespace gust::auth
