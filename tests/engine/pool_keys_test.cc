// Which pre-started pools the engine keeps: the defaults, then those cold starts ask for, the
// least recently asked for dropped beyond the limit.
#include "engine/pool_keys.h"

#include <gtest/gtest.h>

namespace gust::engine {
namespace {

using Keys = std::vector<std::string>;

TEST(PoolKeysTest, StartsWithTheDefaultsUpToTheLimit) {
  EXPECT_EQ(PoolKeys({"python3.11", "nodejs20.x/128"}, 4).keys(),
            (Keys{"python3.11", "nodejs20.x/128"}));
  EXPECT_EQ(PoolKeys({"python3.11", "nodejs20.x/128", "", "python3.11"}, 1).keys(),
            (Keys{"python3.11"}));
  EXPECT_EQ(PoolKeys({"a"}, 0).keys(), (Keys{"a"})) << "at least one pool";
}

TEST(PoolKeysTest, AKnownKeyBecomesTheMostRecent) {
  PoolKeys keys({"python3.11", "nodejs20.x/128"}, 4);
  auto t = keys.touch("nodejs20.x/128");
  EXPECT_FALSE(t.added);
  EXPECT_FALSE(t.dropped);
  EXPECT_EQ(keys.keys(), (Keys{"nodejs20.x/128", "python3.11"}));
}

TEST(PoolKeysTest, ANewKeyIsAddedAndTheLeastRecentDroppedBeyondTheLimit) {
  PoolKeys keys({"python3.11", "nodejs20.x/128"}, 3);
  auto t = keys.touch("nodejs20.x/256");
  EXPECT_TRUE(t.added);
  EXPECT_FALSE(t.dropped);
  EXPECT_TRUE(keys.contains("nodejs20.x/256"));
  keys.touch("python3.11");
  t = keys.touch("nodejs20.x/512");
  EXPECT_TRUE(t.added);
  ASSERT_TRUE(t.dropped);
  EXPECT_EQ(*t.dropped, "nodejs20.x/128");
  EXPECT_FALSE(keys.contains("nodejs20.x/128"));
  EXPECT_EQ(keys.keys(), (Keys{"nodejs20.x/512", "python3.11", "nodejs20.x/256"}));
}

}  // namespace
}  // namespace gust::engine
