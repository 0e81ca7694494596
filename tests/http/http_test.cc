#include "http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

namespace gust::http {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Server> startEcho(ServerOptions options = {}) {
  auto server = Server::start(options, [](Request&& req, Responder respond) {
    if (req.path == "/later") {
      // Respond from another thread, as the engine does.
      std::thread([respond] { respond(Response::json(202, R"({"later":true})")); }).detach();
      return;
    }
    Response r = Response::json(200, req.body);
    r.headers.push_back({"x-method", req.method});
    r.headers.push_back({"x-path", req.path});
    r.headers.push_back({"x-query", req.query});
    r.headers.push_back({"x-test", std::string(req.header("x-test").value_or("none"))});
    respond(std::move(r));
  });
  EXPECT_TRUE(server.ok()) << server.error().message;
  return std::move(server).value();
}

// Sends raw bytes and returns everything the server answers until it closes or 2 s pass.
std::string rawExchange(uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(HttpTest, RoundTripWithDecodedPathQueryAndHeaders) {
  auto server = startEcho();
  Endpoint ep{"127.0.0.1", server->port()};
  ClientRequest req;
  req.method = "POST";
  req.target = "/a%20b/c?x=1&y=%2F";
  req.headers.push_back({"X-Test", "yes"});
  req.body = R"({"k":"v"})";
  auto res = fetch(ep, req, 5s);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"k":"v"})");
  EXPECT_EQ(res->header("x-method"), "POST");
  EXPECT_EQ(res->header("x-path"), "/a b/c");
  EXPECT_EQ(res->header("x-query"), "x=1&y=%2F");
  EXPECT_EQ(res->header("x-test"), "yes");
  EXPECT_EQ(res->header("content-type"), "application/json");
}

TEST(HttpTest, ResponderMayBeCalledFromAnotherThread) {
  auto server = startEcho();
  ClientRequest req;
  req.target = "/later";
  auto res = fetch({"127.0.0.1", server->port()}, req, 5s);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->body, R"({"later":true})");
}

TEST(HttpTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = startEcho();
  std::string two =
      "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string out = rawExchange(server->port(), two);
  EXPECT_NE(out.find("x-path: /one"), std::string::npos) << out;
  EXPECT_NE(out.find("x-path: /two"), std::string::npos) << out;
}

TEST(HttpTest, OversizedBodyIs413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = startEcho(options);
  ClientRequest req;
  req.method = "POST";
  req.body = std::string(4096, 'x');
  auto res = fetch({"127.0.0.1", server->port()}, req, 5s);
  // The server may close before the client has sent everything; both outcomes refuse the body.
  if (res.ok()) {
    EXPECT_EQ(res->status, 413);
  } else {
    EXPECT_EQ(res.error().code, ErrorCode::kUnavailable);
  }
  std::string out =
      rawExchange(server->port(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
}

TEST(HttpTest, OversizedHeadersAre431AndGarbageIs400) {
  ServerOptions options;
  options.max_header_bytes = 512;
  auto server = startEcho(options);
  std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  EXPECT_EQ(rawExchange(server->port(), big).rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_EQ(rawExchange(server->port(), "NOT HTTP AT ALL\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
}

TEST(HttpTest, SlowClientIsDisconnectedAfterTheReadTimeout) {
  ServerOptions options;
  options.read_timeout = 300ms;
  auto server = startEcho(options);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_GT(::send(fd, "GET / HT", 8, MSG_NOSIGNAL), 0);  // and never finishes the request
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);  // closed by the server, not by our 5 s receive timeout
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  ::close(fd);
}

TEST(HttpTest, ClientReportsUnreachableServers) {
  auto server = startEcho();
  uint16_t port = server->port();
  server->stop();
  server.reset();
  auto res = fetch({"127.0.0.1", port}, {}, 2s);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(res.error().message.find("Connection refused"), std::string::npos)
      << res.error().message;
}

TEST(HttpTest, ListenErrorsSayWhatToDo) {
  auto first = startEcho();
  ServerOptions options;
  options.port = first->port();
  auto second = Server::start(options, [](Request&&, Responder r) { r({}); });
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("--listen"), std::string::npos);
  options.address = "not-an-ip";
  auto third = Server::start(options, [](Request&&, Responder r) { r({}); });
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::kInvalidArgument);
}

TEST(HttpTest, ParseEndpoint) {
  auto ep = parseEndpoint("http://127.0.0.1:8080");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 8080);
  EXPECT_EQ(parseEndpoint("http://localhost")->port, 80);
  EXPECT_FALSE(parseEndpoint("https://x:1").ok());
  EXPECT_FALSE(parseEndpoint("127.0.0.1:8080").ok());
  EXPECT_FALSE(parseEndpoint("http://x:99999").ok());
  EXPECT_FALSE(parseEndpoint("http://x:1/path").ok());
  EXPECT_EQ(encodePathSegment("a b/c"), "a%20b%2Fc");
}

// A listening socket on 127.0.0.1 made outside the server, as a sandbox makes one; its port.
std::pair<int, uint16_t> outsideListener() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  return {fd, ntohs(addr.sin_port)};
}

TEST(HttpTest, AdoptedListenersAreServedWithTheirOwnHandlerUntilReleased) {
  ServerOptions options;
  options.listen = false;
  options.max_body_bytes = 16;
  auto server = Server::start(options, nullptr);
  ASSERT_TRUE(server.ok()) << server.error().message;
  auto [fd_a, port_a] = outsideListener();
  auto [fd_b, port_b] = outsideListener();
  auto handlerFor = [](std::string name) {
    return [name](Request&& req, Responder respond) {
      respond(Response::json(200, name + " " + req.path));
    };
  };
  auto a = (*server)->adopt(fd_a, handlerFor("a"));
  auto b = (*server)->adopt(fd_b, handlerFor("b"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  ClientRequest req;
  req.target = "/x";
  auto from_a = fetch({"127.0.0.1", port_a}, req, 5s);
  auto from_b = fetch({"127.0.0.1", port_b}, req, 5s);
  ASSERT_TRUE(from_a.ok() && from_b.ok());
  EXPECT_EQ(from_a->body, "a /x");
  EXPECT_EQ(from_b->body, "b /x");
  // The server's options apply to adopted listeners.
  req.method = "POST";
  req.body = std::string(17, 'x');
  auto too_large = fetch({"127.0.0.1", port_a}, req, 5s);
  ASSERT_TRUE(too_large.ok());
  EXPECT_EQ(too_large->status, 413);
  // Released: nothing accepts on it any more (the caller's descriptor still listens, so the
  // connection waits in the backlog unanswered).
  a->reset();
  req = ClientRequest{};
  auto after = fetch({"127.0.0.1", port_a}, req, 500ms);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(fetch({"127.0.0.1", port_b}, req, 5s).ok());
  ::close(fd_a);
  ::close(fd_b);

  int not_listening = ::socket(AF_INET, SOCK_STREAM, 0);
  auto refused = (*server)->adopt(not_listening, handlerFor("c"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  ::close(not_listening);
}

}  // namespace
}  // namespace gust::http
