#include "auth/credentials.h"

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/crypto.h"

namespace gust::auth {
namespace {

using namespace std::chrono_literals;

// The CredentialStore contract in memory, counting reads so tests can see the cache work.
class FakeCredentialStore : public CredentialStore {
 public:
  Status putCredential(StoredCredential c) override {
    std::lock_guard lock(mu_);
    if (collide_next_ > 0) {
      --collide_next_;
      return Error{ErrorCode::kAlreadyExists, "taken"};
    }
    if (!rows_.emplace(c.access_key_id, c).second) return Error{ErrorCode::kAlreadyExists, "taken"};
    return okStatus();
  }
  Result<StoredCredential> getCredential(std::string_view id) override {
    std::lock_guard lock(mu_);
    ++gets_;
    if (fail_reads_) return Error::unavailable("disk on fire");
    auto it = rows_.find(std::string(id));
    if (it == rows_.end()) return Error::notFound("no such key");
    return it->second;
  }
  Result<std::vector<StoredCredential>> listCredentials() override {
    std::lock_guard lock(mu_);
    std::vector<StoredCredential> out;
    for (const auto& [id, c] : rows_) out.push_back(c);
    return out;
  }
  Status deleteCredential(std::string_view id) override {
    std::lock_guard lock(mu_);
    if (rows_.erase(std::string(id)) == 0) return Error::notFound("no such key");
    return okStatus();
  }

  std::map<std::string, StoredCredential> rows() {
    std::lock_guard lock(mu_);
    return rows_;
  }
  void set(const StoredCredential& c) {
    std::lock_guard lock(mu_);
    rows_[c.access_key_id] = c;
  }
  int gets() {
    std::lock_guard lock(mu_);
    return gets_;
  }
  void collideNext(int n) {
    std::lock_guard lock(mu_);
    collide_next_ = n;
  }
  void failReads(bool fail) {
    std::lock_guard lock(mu_);
    fail_reads_ = fail;
  }

 private:
  std::mutex mu_;
  std::map<std::string, StoredCredential> rows_;
  int collide_next_ = 0;
  int gets_ = 0;
  bool fail_reads_ = false;
};

std::string testKey() { return std::string(kSealKeyBytes, 'k'); }

bool isAccessKeyIdChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); }

TEST(CredentialServiceTest, CreateIssuesAwsShapedKeysAndStoresTheSecretSealed) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  auto created = service.create("ci deploys");
  ASSERT_TRUE(created.ok()) << created.error().message;

  EXPECT_EQ(created->access_key_id.size(), 20u);
  EXPECT_EQ(created->access_key_id.substr(0, 4), "GKIA");
  for (char c : created->access_key_id) EXPECT_TRUE(isAccessKeyIdChar(c)) << c;
  EXPECT_EQ(created->secret_access_key.size(), 40u);
  std::string raw;
  EXPECT_TRUE(base64Decode(created->secret_access_key, raw));
  EXPECT_EQ(raw.size(), 30u);
  EXPECT_EQ(created->description, "ci deploys");
  EXPECT_EQ(created->created.size(), 20u);  // 2026-11-24T23:20:15Z
  EXPECT_EQ(created->created.back(), 'Z');

  auto rows = store.rows();
  ASSERT_EQ(rows.size(), 1u);
  const StoredCredential& row = rows.begin()->second;
  EXPECT_EQ(row.access_key_id, created->access_key_id);
  EXPECT_EQ(row.sealed_secret.find(created->secret_access_key), std::string::npos);
  auto opened = open(testKey(), row.sealed_secret, credentialSealContext(row.access_key_id));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, created->secret_access_key);
}

TEST(CredentialServiceTest, KeysAreDistinct) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  std::set<std::string> ids, secrets;
  for (int i = 0; i < 50; ++i) {
    auto c = service.create("");
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(ids.insert(c->access_key_id).second);
    EXPECT_TRUE(secrets.insert(c->secret_access_key).second);
  }
}

TEST(CredentialServiceTest, CreateRetriesATakenIdAndGivesUpEventually) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  store.collideNext(2);
  EXPECT_TRUE(service.create("x").ok());
  store.collideNext(100);
  auto failed = service.create("x");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kInternal);
}

TEST(CredentialServiceTest, DescriptionIsValidated) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  EXPECT_EQ(service.create(std::string(257, 'a')).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service.create("line\nbreak").error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(service.create(std::string(256, 'a')).ok());
  EXPECT_TRUE(service.create("déploiement ✓").ok());
}

TEST(CredentialServiceTest, ListNeverShowsSecrets) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  auto a = service.create("a");
  auto b = service.create("b");
  ASSERT_TRUE(a.ok() && b.ok());
  auto listed = service.list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  std::set<std::string> ids;
  for (const CredentialInfo& info : *listed) {
    ids.insert(info.access_key_id);
    EXPECT_FALSE(info.created.empty());
  }
  EXPECT_EQ(ids, (std::set<std::string>{a->access_key_id, b->access_key_id}));
}

TEST(CredentialServiceTest, SecretForFindsKeysAndCachesThem) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  auto c = service.create("x");
  ASSERT_TRUE(c.ok());
  auto secret = service.secretFor(c->access_key_id);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(*secret, c->secret_access_key);
  int reads = store.gets();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*service.secretFor(c->access_key_id), *secret);
  EXPECT_EQ(store.gets(), reads);

  auto unknown = service.secretFor("GKIAUNKNOWNUNKNOWN22");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST(CredentialServiceTest, CacheExpires) {
  FakeCredentialStore store;
  auto now = std::make_shared<std::chrono::steady_clock::time_point>();
  CredentialServiceOptions options;
  options.cache_ttl = 60s;
  options.clock = [now] { return *now; };
  CredentialService service(store, testKey(), options);
  auto c = service.create("x");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(service.secretFor(c->access_key_id).ok());
  int reads = store.gets();
  *now += 59s;
  ASSERT_TRUE(service.secretFor(c->access_key_id).ok());
  EXPECT_EQ(store.gets(), reads);
  // Revoked behind the service's back (another process sharing the store): gone after the TTL.
  ASSERT_TRUE(store.deleteCredential(c->access_key_id).ok());
  *now += 2s;
  EXPECT_EQ(service.secretFor(c->access_key_id).error().code, ErrorCode::kNotFound);
}

TEST(CredentialServiceTest, RevokeTakesEffectAtOnce) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  auto c = service.create("x");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(service.secretFor(c->access_key_id).ok());  // cached
  ASSERT_TRUE(service.revoke(c->access_key_id).ok());
  EXPECT_EQ(service.secretFor(c->access_key_id).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store.rows().empty());
  EXPECT_EQ(service.revoke(c->access_key_id).error().code, ErrorCode::kNotFound);
}

TEST(CredentialServiceTest, ASecretMovedToAnotherRecordDoesNotOpen) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  auto a = service.create("a");
  auto b = service.create("b");
  ASSERT_TRUE(a.ok() && b.ok());
  auto rows = store.rows();
  StoredCredential moved = rows.at(b->access_key_id);
  moved.sealed_secret = rows.at(a->access_key_id).sealed_secret;
  store.set(moved);
  auto secret = service.secretFor(b->access_key_id);
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.error().code, ErrorCode::kInternal);
  // The message names the key, never a secret.
  EXPECT_NE(secret.error().message.find(b->access_key_id), std::string::npos);
  EXPECT_EQ(secret.error().message.find(a->secret_access_key), std::string::npos);
}

TEST(CredentialServiceTest, AnotherServerKeyCannotOpenSecrets) {
  FakeCredentialStore store;
  auto c = CredentialService(store, testKey()).create("x");
  ASSERT_TRUE(c.ok());
  CredentialService other(store, std::string(kSealKeyBytes, 'o'));
  EXPECT_EQ(other.secretFor(c->access_key_id).error().code, ErrorCode::kInternal);
}

TEST(CredentialServiceTest, StoreFailuresPassThrough) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  auto c = service.create("x");
  ASSERT_TRUE(c.ok());
  store.failReads(true);
  EXPECT_EQ(service.secretFor(c->access_key_id).error().code, ErrorCode::kUnavailable);
}

TEST(CredentialServiceTest, LookupVerifiesARequestSignedWithAnIssuedKey) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  auto c = service.create("x");
  ASSERT_TRUE(c.ok());
  std::string path = "/2015-03-31/functions/f/invocations";
  std::string date = "20261124T120000Z";
  SigV4Request request{"POST", path, "", {{"Host", "127.0.0.1:9001"}, {"X-Amz-Date", date}}, "{}"};
  std::string auth = authorizationHeader(request, c->access_key_id, c->secret_access_key,
                                         "us-east-1", "lambda", {"host", "x-amz-date"});
  request.headers.emplace_back("Authorization", auth);
  std::chrono::system_clock::time_point now;
  ASSERT_TRUE(parseAmzDate(date, now));

  auto lookup = service.lookup();
  auto ok = verify(request, lookup, now);
  ASSERT_TRUE(ok.ok()) << ok.failure().message;
  EXPECT_EQ(ok->access_key_id, c->access_key_id);

  ASSERT_TRUE(service.revoke(c->access_key_id).ok());
  auto revoked = verify(request, lookup, now);
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.failure().error_type, "UnrecognizedClientException");
}

TEST(CredentialServiceTest, ConcurrentLookupsAndRevokesNeverResurrectAKey) {
  FakeCredentialStore store;
  CredentialService service(store, testKey());
  for (int round = 0; round < 20; ++round) {
    auto c = service.create("x");
    ASSERT_TRUE(c.ok());
    std::atomic<bool> stop{false};
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i)
      readers.emplace_back([&] {
        while (!stop) (void)service.secretFor(c->access_key_id);
      });
    ASSERT_TRUE(service.revoke(c->access_key_id).ok());
    stop = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(service.secretFor(c->access_key_id).error().code, ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace gust::auth
