#include "gateway/router.h"

#include <gtest/gtest.h>

namespace gust::gateway {
namespace {

TEST(RouterTest, MatchesLiteralsAndParameters) {
  Router<int> r;
  r.add("GET", "/api/v1/functions", 1);
  r.add("GET", "/api/v1/functions/{name}", 2);
  r.add("POST", "/api/v1/functions/{name}/invoke", 3);
  r.add("GET", "/api/v1/functions/special", 4);

  auto m = r.match("GET", "/api/v1/functions");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(*m.handler, 1);

  m = r.match("GET", "/api/v1/functions/hello");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(*m.handler, 2);
  EXPECT_EQ(m.params.at("name"), "hello");

  m = r.match("POST", "/api/v1/functions/hello/invoke");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(*m.handler, 3);

  // A literal segment wins over a parameter.
  m = r.match("GET", "/api/v1/functions/special");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(*m.handler, 4);
}

TEST(RouterTest, DistinguishesNotFoundFromWrongMethod) {
  Router<int> r;
  r.add("GET", "/x/{id}", 1);
  r.add("DELETE", "/x/{id}", 2);
  auto m = r.match("PUT", "/x/7");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_matched);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"GET", "DELETE"}));
  m = r.match("GET", "/y/7");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_FALSE(m.path_matched);
  // Parameters never match an empty segment, and segment counts must agree.
  EXPECT_EQ(r.match("GET", "/x/").handler, nullptr);
  EXPECT_EQ(r.match("GET", "/x/7/8").handler, nullptr);
}

TEST(RouterTest, SplitPath) {
  EXPECT_EQ(splitPath("/"), (std::vector<std::string_view>{""}));
  EXPECT_EQ(splitPath("/a/b"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(splitPath("/a/b/"), (std::vector<std::string_view>{"a", "b", ""}));
}

}  // namespace
}  // namespace gust::gateway
