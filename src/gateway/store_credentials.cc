#include "gateway/store_credentials.h"

namespace gust::gateway {
namespace {

auth::StoredCredential fromRecord(store::CredentialRecord c) {
  return {std::move(c.access_key_id), std::move(c.sealed_secret), std::move(c.description),
          std::move(c.created)};
}

}  // namespace

Status StoreCredentials::putCredential(auth::StoredCredential c) {
  return store_.putCredential({std::move(c.access_key_id), std::move(c.sealed_secret),
                               std::move(c.description), std::move(c.created)});
}

Result<auth::StoredCredential> StoreCredentials::getCredential(std::string_view id) {
  GUST_ASSIGN_OR_RETURN(store::CredentialRecord c, store_.getCredential(id));
  return fromRecord(std::move(c));
}

Result<std::vector<auth::StoredCredential>> StoreCredentials::listCredentials() {
  GUST_ASSIGN_OR_RETURN(auto records, store_.listCredentials());
  std::vector<auth::StoredCredential> out;
  out.reserve(records.size());
  for (auto& c : records) out.push_back(fromRecord(std::move(c)));
  return out;
}

Status StoreCredentials::deleteCredential(std::string_view id) {
  return store_.deleteCredential(id);
}

}  // namespace gust::gateway
