// Frame encoding and validation, and the host client against a scripted peer on a socketpair.
#include "runtime/protocol.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "runtime/runtime.h"

namespace gust::runtime {
namespace {

using namespace std::chrono_literals;

std::string header(uint32_t length, uint8_t type, uint8_t flags, uint16_t meta_length,
                   uint64_t seq) {
  std::string h;
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>(length >> (8 * i)));
  h.push_back(static_cast<char>(type));
  h.push_back(static_cast<char>(flags));
  for (int i = 0; i < 2; ++i) h.push_back(static_cast<char>(meta_length >> (8 * i)));
  for (int i = 0; i < 8; ++i) h.push_back(static_cast<char>(seq >> (8 * i)));
  return h;
}

TEST(ProtocolTest, RoundTrip) {
  Frame f;
  f.type = FrameType::kInvoke;
  f.seq = 0x0102030405060708ull;
  f.meta = R"({"request_id":"abc"})";
  f.body = std::string("{\"k\":\"\0binary\"}", 15);
  auto bytes = encodeFrame(f);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  ASSERT_EQ(bytes->size(), kFrameHeaderBytes + f.meta.size() + f.body.size());
  // Little-endian on the wire whatever the host order is.
  EXPECT_EQ(bytes->substr(0, 16), header(static_cast<uint32_t>(f.meta.size() + f.body.size()), 4, 0,
                                         static_cast<uint16_t>(f.meta.size()), f.seq));
  auto back = decodeFrame(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->type, f.type);
  EXPECT_EQ(back->seq, f.seq);
  EXPECT_EQ(back->meta, f.meta);
  EXPECT_EQ(back->body, f.body);
}

TEST(ProtocolTest, EmptyFrame) {
  Frame f;
  f.type = FrameType::kInitOk;
  auto bytes = encodeFrame(f);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), kFrameHeaderBytes);
  auto back = decodeFrame(*bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->type, FrameType::kInitOk);
  EXPECT_TRUE(back->meta.empty());
  EXPECT_TRUE(back->body.empty());
}

TEST(ProtocolTest, HeaderValidation) {
  EXPECT_TRUE(decodeHeader(header(10, 5, 0, 3, 1)).ok());
  EXPECT_TRUE(decodeHeader(header(kMaxFrameBytes, 5, 0, 0, 1)).ok());

  auto oversize = decodeHeader(header(kMaxFrameBytes + 1, 5, 0, 0, 1));
  ASSERT_FALSE(oversize.ok());
  EXPECT_EQ(oversize.error().code, ErrorCode::kTooLarge);
  EXPECT_FALSE(decodeHeader(header(0xffffffffu, 5, 0, 0, 1)).ok());

  for (uint8_t type : {0, 8, 9, 10, 255}) {
    auto r = decodeHeader(header(0, type, 0, 0, 0));
    ASSERT_FALSE(r.ok()) << int(type);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(decodeHeader(header(1, 5, 1, 0, 0)).ok()) << "flags are reserved";
  EXPECT_FALSE(decodeHeader(header(2, 5, 0, 3, 0)).ok()) << "meta longer than the frame";
  EXPECT_FALSE(decodeHeader(header(2, 5, 0, 3, 0).substr(0, 15)).ok()) << "short header";
}

TEST(ProtocolTest, DecodeFrameNeedsExactlyOneFrame) {
  std::string h = header(5, 5, 0, 0, 1);
  EXPECT_FALSE(decodeFrame(h + "abcd").ok());
  EXPECT_FALSE(decodeFrame(h + "abcdef").ok());
  EXPECT_TRUE(decodeFrame(h + "abcde").ok());
  EXPECT_FALSE(decodeFrame("").ok());
}

TEST(ProtocolTest, EncodeRejectsOversize) {
  Frame f;
  f.type = FrameType::kResult;
  f.meta.assign(70000, 'm');
  EXPECT_FALSE(encodeFrame(f).ok()) << "meta above 64 KiB";
  f.meta.clear();
  f.body.assign(kMaxFrameBytes + 1, 'b');
  auto r = encodeFrame(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

// The host client talking to a fake instance: the test plays the instance on `peer`.
class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    host_ = UniqueFd(sv[0]);
    peer_ = UniqueFd(sv[1]);
    int out[2], err[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
    ASSERT_EQ(::pipe2(err, O_CLOEXEC | O_NONBLOCK), 0);
    out_r_ = UniqueFd(out[0]);
    out_w_ = UniqueFd(out[1]);
    err_r_ = UniqueFd(err[0]);
    err_w_ = UniqueFd(err[1]);
  }
  void send(const std::string& bytes) {
    ASSERT_EQ(::write(peer_.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void sendFrame(FrameType type, uint64_t seq, const std::string& body) {
    Frame f;
    f.type = type;
    f.seq = seq;
    f.body = body;
    send(*encodeFrame(f));
  }
  // Reads the INVOKE the client sent.
  Frame readInvoke() {
    std::string buf(kFrameHeaderBytes, '\0');
    EXPECT_EQ(::read(peer_.get(), buf.data(), buf.size()), 16);
    auto h = decodeHeader(buf);
    EXPECT_TRUE(h.ok());
    std::string payload(h->length, '\0');
    size_t got = 0;
    while (got < payload.size()) {
      ssize_t n = ::read(peer_.get(), payload.data() + got, payload.size() - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    return *decodeFrame(buf + payload);
  }
  FrameClient client(size_t max_log = 256 * 1024) {
    return FrameClient(host_.get(), out_r_.get(), err_r_.get(), max_log);
  }
  static Deadline soon() { return std::chrono::steady_clock::now() + 5s; }

  UniqueFd host_, peer_, out_r_, out_w_, err_r_, err_w_;
};

TEST_F(ClientTest, InvokeSendsMetaAndReadsResult) {
  auto c = client();
  InvokeMeta meta;
  meta.request_id = "req-1";
  meta.deadline_ms = 1234;
  meta.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
  meta.trace_id = "Root=1-abc";
  std::thread peer([&] {
    Frame in = readInvoke();
    EXPECT_EQ(in.type, FrameType::kInvoke);
    EXPECT_EQ(in.body, R"({"a":1})");
    EXPECT_NE(in.meta.find(R"("request_id":"req-1")"), std::string::npos) << in.meta;
    EXPECT_NE(in.meta.find(R"("deadline_ms":1234)"), std::string::npos) << in.meta;
    EXPECT_NE(in.meta.find(R"("trace_id":"Root=1-abc")"), std::string::npos) << in.meta;
    EXPECT_EQ(in.meta.find("client_context"), std::string::npos) << "empty fields are omitted";
    ASSERT_EQ(::write(out_w_.get(), "printed\n", 8), 8);
    sendFrame(FrameType::kResult, in.seq, "42");
  });
  auto r = c.invoke(meta, R"({"a":1})", soon());
  peer.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->function_error);
  EXPECT_EQ(r->payload, "42");
  EXPECT_EQ(c.takeLogs(), "printed\n");
}

TEST_F(ClientTest, ErrorFrameCarriesTheType) {
  auto c = client();
  std::thread peer([&] {
    Frame in = readInvoke();
    sendFrame(FrameType::kError, in.seq, R"({"errorMessage":"x","errorType":"KeyError"})");
  });
  auto r = c.invoke({}, "{}", soon());
  peer.join();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->function_error);
  EXPECT_EQ(r->error_type, "KeyError");
}

TEST_F(ClientTest, OversizeHeaderIsRejectedBeforeReading) {
  auto c = client();
  std::thread peer([&] {
    Frame in = readInvoke();
    send(header(20u << 20, 5, 0, 0, in.seq));  // announces 20 MiB, sends none of it
  });
  auto r = c.invoke({}, "{}", soon());
  peer.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
}

TEST_F(ClientTest, WrongSequenceIsAProtocolError) {
  auto c = client();
  std::thread peer([&] {
    Frame in = readInvoke();
    sendFrame(FrameType::kResult, in.seq + 1, "1");
  });
  auto r = c.invoke({}, "{}", soon());
  peer.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

TEST_F(ClientTest, GarbageIsAProtocolError) {
  auto c = client();
  std::thread peer([&] {
    readInvoke();
    send("this is not a frame header");
  });
  auto r = c.invoke({}, "{}", soon());
  peer.join();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("protocol violation"), std::string::npos);
}

TEST_F(ClientTest, ClosedChannelIsUnavailable) {
  auto c = client();
  peer_.reset();
  auto r = c.invoke({}, "{}", soon());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(ClientTest, SilentPeerHitsTheDeadline) {
  auto c = client();
  auto start = std::chrono::steady_clock::now();
  auto r = c.awaitInit(start + 200ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
}

TEST_F(ClientTest, InitOutcomes) {
  {
    auto c = client();
    sendFrame(FrameType::kInitOk, 0, "");
    auto r = c.awaitInit(soon());
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value());
  }
  {
    auto c = client();
    sendFrame(FrameType::kInitError, 0, R"({"errorType":"Runtime.ImportModuleError"})");
    auto r = c.awaitInit(soon());
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->has_value());
    EXPECT_NE(r->value().find("ImportModuleError"), std::string::npos);
  }
  {
    auto c = client();
    peer_.reset();
    auto r = c.awaitInit(soon());
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->has_value());
    EXPECT_NE(r->value().find("Runtime.ExitError"), std::string::npos);
  }
}

TEST_F(ClientTest, LogsAreCappedWithANote) {
  auto c = client(10);
  ASSERT_EQ(::write(out_w_.get(), "0123456789abcdef", 16), 16);
  ASSERT_EQ(::write(err_w_.get(), "more", 4), 4);
  std::string logs = c.takeLogs();
  EXPECT_TRUE(logs.starts_with("0123456789\n")) << logs;
  EXPECT_NE(logs.find("10 bytes of output dropped"), std::string::npos) << logs;
  EXPECT_EQ(c.takeLogs(), "") << "the cap is per take";
}

}  // namespace
}  // namespace gust::runtime
