// Access keys that Gust issues for AWS Signature Version 4: creation, listing, revocation, and
// the secret lookup the verifier (sigv4.h) needs. Secrets are stored sealed (AES-256-GCM under
// the server's key, common/crypto.h) and are never logged; the only time a secret leaves this
// service in the clear is create()'s answer, and secretFor() for verification.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/sigv4.h"
#include "common/result.h"

namespace gust::auth {

// One stored access key. The same fields as store::CredentialRecord, so the adapter from
// store::Store is a field-by-field copy.
struct StoredCredential {
  std::string access_key_id;
  std::string sealed_secret;  // common/crypto.h seal(), bound to access_key_id
  std::string description;
  std::string created;  // ISO 8601 UTC, e.g. "2026-11-24T23:20:15Z"

  bool operator==(const StoredCredential&) const = default;
};

// Where access keys live. Implementations must be thread-safe; the service calls them from
// whichever thread asks it something.
class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // kAlreadyExists if the id is taken.
  virtual Status putCredential(StoredCredential credential) = 0;
  // kNotFound if there is no such id.
  virtual Result<StoredCredential> getCredential(std::string_view access_key_id) = 0;
  // Ordered by id.
  virtual Result<std::vector<StoredCredential>> listCredentials() = 0;
  // kNotFound if there is no such id.
  virtual Status deleteCredential(std::string_view access_key_id) = 0;
};

// A newly created key: the only answer that carries the secret.
struct NewCredential {
  std::string access_key_id;      // 20 characters: "GKIA" + 16 of A-Z and 2-7, like AWS's AKIA...
  std::string secret_access_key;  // 40 characters of base64 (30 random bytes), like AWS's
  std::string description;
  std::string created;
};

// What list() shows of a key: never its secret.
struct CredentialInfo {
  std::string access_key_id;
  std::string description;
  std::string created;

  bool operator==(const CredentialInfo&) const = default;
};

struct CredentialServiceOptions {
  // How long secretFor() trusts a secret it has already read, before asking the store again.
  // Revocations through this service take effect at once; this bounds how long a key revoked
  // by another process sharing the store keeps working here.
  std::chrono::seconds cache_ttl = std::chrono::seconds(60);
  // The clock for cache expiry; tests replace it.
  std::function<std::chrono::steady_clock::time_point()> clock = std::chrono::steady_clock::now;
};

// Thread-safe. `store` must outlive the service.
class CredentialService {
 public:
  // `sealing_key` is the server's kSealKeyBytes-byte key (loadOrCreateKeyFile).
  CredentialService(CredentialStore& store, std::string sealing_key,
                    CredentialServiceOptions options = {});

  // Issues a new key. kInvalidArgument for a description over 256 bytes or with control
  // characters.
  Result<NewCredential> create(std::string_view description);
  // Every key, ordered by id, without secrets.
  Result<std::vector<CredentialInfo>> list();
  // Deletes the key; requests signed with it fail from now on. kNotFound if there is none.
  Status revoke(std::string_view access_key_id);
  // The secret of a key: kNotFound for an unknown or revoked id, kInternal if the stored secret
  // does not open (the data directory's key was replaced or the record was tampered with).
  Result<std::string> secretFor(std::string_view access_key_id);
  // secretFor as the verifier's SecretLookup. Valid while the service lives.
  SecretLookup lookup();

 private:
  struct CachedSecret {
    std::string secret;
    std::chrono::steady_clock::time_point expires;
  };

  CredentialStore& store_;
  const std::string sealing_key_;
  const CredentialServiceOptions options_;

  // Drops a key's cached secret and counts a revocation.
  void forget(std::string_view access_key_id);

  std::mutex mu_;
  std::unordered_map<std::string, CachedSecret> cache_;  // guarded by mu_
  uint64_t revocations_ = 0;                             // guarded by mu_
};

// The associated data a key's secret is sealed with: it binds the sealed value to its id.
std::string credentialSealContext(std::string_view access_key_id);

}  // namespace gust::auth
