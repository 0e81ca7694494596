// The access keys of the Lambda API's AWS Signature Version 4 (auth::CredentialService), kept in
// the metadata store.
#pragma once

#include "auth/credentials.h"
#include "store/store.h"

namespace gust::gateway {

// Thread-safe as the store is. `store` must outlive it.
class StoreCredentials final : public auth::CredentialStore {
 public:
  explicit StoreCredentials(store::Store& store) : store_(store) {}

  Status putCredential(auth::StoredCredential c) override;
  Result<auth::StoredCredential> getCredential(std::string_view id) override;
  Result<std::vector<auth::StoredCredential>> listCredentials() override;
  Status deleteCredential(std::string_view id) override;

 private:
  store::Store& store_;
};

}  // namespace gust::gateway
