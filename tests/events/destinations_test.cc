#include "events/destinations.h"

#include <gtest/gtest.h>

namespace gust::events {
namespace {

TEST(DestinationsTest, ParsesTheThreeKinds) {
  auto f = parseDestination("arn:aws:lambda:us-east-1:000000000000:function:next:live");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->kind, DestinationKind::kFunction);
  EXPECT_EQ(f->name, "next");
  EXPECT_EQ(f->qualifier, "live");
  auto t = parseDestination("arn:aws:sns:us-east-1:000000000000:news");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, DestinationKind::kTopic);
  EXPECT_EQ(t->name, "news");
  auto q = parseDestination("arn:aws:sqs:eu-west-1:123456789012:failures");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->kind, DestinationKind::kDeadLetterStore);
  EXPECT_EQ(q->name, "failures");
}

TEST(DestinationsTest, RefusesWhatIsNoDestination) {
  for (const char* arn :
       {"", "failures", "arn:aws:s3:::bucket", "arn:aws:lambda:us-east-1:0:function:",
        "arn:aws:lambda:us-east-1:0:layer:x", "arn:aws:sqs:us-east-1:0:a b",
        "arn:aws:lambda:us-east-1:0:function:f:q:extra", "arn:aws:sns:us-east-1:0:a:b"}) {
    auto d = parseDestination(arn);
    ASSERT_FALSE(d.ok()) << arn;
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(d.error().message.find("arn:aws:sqs:REGION:ACCOUNT:QUEUE"), std::string::npos);
  }
}

}  // namespace
}  // namespace gust::events
