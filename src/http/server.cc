// HTTP/1.1 server on Boost.Beast: one strand per connection, keep-alive, size limits answered
// with 413/431, read and idle timeouts. Handlers respond through a Responder that may be called
// from any thread; it posts the write back onto the connection's strand.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/http.h"

namespace gust::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The default answer to a request the server refuses itself.
Response refusalResponse(int status, std::string_view message) {
  return Response::json(status, fmt::format(R"({{"code":"{}","message":"{}"}})",
                                            status == 400 ? "BadRequest" : "TooLarge", message));
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const ServerOptions& options, std::shared_ptr<const Handler> handler,
          std::weak_ptr<net::io_context> ioc)
      : stream_(std::move(socket)),
        options_(options),
        handler_(std::move(handler)),
        ioc_(std::move(ioc)) {}

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::readRequest, shared_from_this()));
  }

 private:
  Response refuse(std::string_view target, int status, std::string_view message) const {
    return options_.refusal ? options_.refusal(target, status, message)
                            : refusalResponse(status, message);
  }

  void readRequest() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(options_.max_header_bytes);
    // The first request gets the read timeout; later ones on a kept-alive connection may first
    // sit idle, so they get the idle timeout. Either bounds the whole read (slow clients too).
    stream_.expires_after(requests_ == 0 ? options_.read_timeout : options_.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::onRead, shared_from_this()));
  }

  void onRead(beast::error_code ec, size_t /*bytes*/) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      return writeResponse(
          refuse(std::string(parser_->get().target()), 413,
                 fmt::format("request body exceeds the limit of {} bytes; send a smaller one",
                             options_.max_body_bytes)),
          false);
    }
    if (ec == bhttp::error::header_limit) {
      return writeResponse(refuse("", 431, "request headers too large"), false);
    }
    if (ec) {
      return writeResponse(refuse("", 400, "malformed HTTP request"), false);
    }
    ++requests_;
    auto msg = parser_->release();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto parsed = boost::urls::parse_origin_form(msg.target());
    if (!parsed) {
      return writeResponse(refuse("", 400, "malformed request target"), false);
    }
    req.path = parsed->path();
    req.query = std::string(parsed->encoded_query());
    for (const auto& field : msg) {
      req.headers.push_back({lower(field.name_string()), std::string(field.value())});
    }
    req.body = std::move(msg.body());
    beast::error_code addr_ec;
    auto remote = stream_.socket().remote_endpoint(addr_ec);
    if (!addr_ec) req.remote_address = remote.address().to_string();
    bool keep_alive = msg.keep_alive();
    stream_.expires_never();  // the handler's own deadlines apply while it runs

    auto self = shared_from_this();
    auto called = std::make_shared<std::atomic<bool>>(false);
    auto ioc = ioc_.lock();  // alive: this code runs on it
    Responder respond = [self, called, keep_alive, ioc](Response response) {
      if (called->exchange(true)) {
        spdlog::error("http: a handler responded twice; the second response is dropped");
        return;
      }
      net::post(self->stream_.get_executor(),
                [self, keep_alive, r = std::move(response)]() mutable {
                  self->writeResponse(std::move(r), keep_alive);
                });
    };
    try {
      (*handler_)(std::move(req), std::move(respond));
    } catch (const std::exception& e) {
      spdlog::error("http: handler threw: {}", e.what());
      if (!called->exchange(true)) {
        writeResponse(Response::json(500, R"({"code":"Internal","message":"internal error"})"),
                      false);
      }
    }
  }

  void writeResponse(Response response, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    res->set(bhttp::field::server, "gust");
    for (auto& h : response.headers) res->insert(h.name, h.value);
    res->keep_alive(keep_alive);
    res->body() = std::move(response.body);
    res->prepare_payload();
    stream_.expires_after(options_.read_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                         if (ec || !keep_alive) return self->close();
                         self->readRequest();
                       });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const ServerOptions& options_;
  // Shared: an adopted listener's handler lives as long as the sessions it accepted.
  std::shared_ptr<const Handler> handler_;
  // Weak: a session must not keep its io_context alive (the context's queue owns sessions).
  // Each Responder holds a strong reference instead, so posting from a late Responder is safe.
  std::weak_ptr<net::io_context> ioc_;
  uint64_t requests_ = 0;
};

class BeastServer final : public Server {
 public:
  BeastServer(ServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::make_shared<const Handler>(std::move(handler))),
        ioc_(std::make_shared<net::io_context>(options_.io_threads)),
        acceptor_(net::make_strand(*ioc_)),
        work_(net::make_work_guard(*ioc_)) {}

  ~BeastServer() override { stop(); }

  Status listen() {
    if (!options_.listen) return startThreads();
    beast::error_code ec;
    auto address = net::ip::make_address(options_.address, ec);
    if (ec) {
      return Error::invalid(
          fmt::format("listen address '{}' is not an IP address; use e.g. "
                      "127.0.0.1:8080",
                      options_.address));
    }
    tcp::endpoint ep(address, options_.port);
    auto fail = [&](std::string_view what) {
      return Error{ErrorCode::kUnavailable,
                   fmt::format("cannot {} {}:{}: {}; stop the other server or choose another "
                               "port with --listen ADDR:PORT",
                               what, options_.address, options_.port, ec.message())};
    };
    if (acceptor_.open(ep.protocol(), ec); ec) return fail("open a socket for");
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("set up");
    if (acceptor_.bind(ep, ec); ec) return fail("listen on");
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec)
      return fail("listen on");
    port_ = acceptor_.local_endpoint().port();
    accept();
    return startThreads();
  }

  uint16_t port() const override { return port_; }

  Result<std::unique_ptr<AdoptedListener>> adopt(int listen_fd, Handler handler) override {
    int accepting = 0;
    socklen_t len = sizeof accepting;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (::getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 ||
        accepting == 0 ||
        ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0 ||
        (addr.ss_family != AF_INET && addr.ss_family != AF_INET6))
      return Error::invalid(fmt::format(
          "fd {} is not a listening TCP socket; pass one that listen() was called on", listen_fd));
    int fd = ::fcntl(listen_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return Error::fromErrno("cannot duplicate the listener to adopt", errno);
    auto adopted = std::make_shared<Adopted>(net::make_strand(*ioc_),
                                             std::make_shared<const Handler>(std::move(handler)));
    beast::error_code ec;
    adopted->acceptor.assign(addr.ss_family == AF_INET ? tcp::v4() : tcp::v6(), fd, ec);
    if (ec) {
      ::close(fd);
      return Error::internal(fmt::format("cannot adopt listener: {}", ec.message()));
    }
    net::post(adopted->acceptor.get_executor(), [this, adopted] { acceptOn(adopted); });
    return std::unique_ptr<AdoptedListener>(new AdoptedHandle(adopted, ioc_));
  }

  void stop() override {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    work_.reset();
    ioc_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  // A listener given to adopt(); the handle and the pending accept share it.
  struct Adopted {
    Adopted(net::strand<net::io_context::executor_type> strand,
            std::shared_ptr<const Handler> handler)
        : acceptor(std::move(strand)), handler(std::move(handler)) {}
    tcp::acceptor acceptor;
    std::shared_ptr<const Handler> handler;
  };

  class AdoptedHandle final : public AdoptedListener {
   public:
    AdoptedHandle(std::shared_ptr<Adopted> adopted, std::shared_ptr<net::io_context> ioc)
        : ioc_(std::move(ioc)), adopted_(std::move(adopted)) {}
    // Closing on the acceptor's strand cancels its pending accept.
    ~AdoptedHandle() override {
      net::post(adopted_->acceptor.get_executor(), [adopted = adopted_] {
        beast::error_code ec;
        adopted->acceptor.close(ec);
      });
    }

   private:
    std::shared_ptr<net::io_context> ioc_;  // outlives the acceptor, whose executor it runs
    std::shared_ptr<Adopted> adopted_;
  };

  Status startThreads() {
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
      threads_.emplace_back([this] { ioc_->run(); });
    }
    return okStatus();
  }

  void acceptOn(const std::shared_ptr<Adopted>& adopted) {
    if (!adopted->acceptor.is_open()) return;
    adopted->acceptor.async_accept(
        net::make_strand(*ioc_), [this, adopted](beast::error_code ec, tcp::socket s) {
          if (ec == net::error::operation_aborted || ec == net::error::bad_descriptor) return;
          if (!ec) {
            std::make_shared<Session>(std::move(s), options_, adopted->handler, ioc_)->run();
          } else {
            spdlog::warn("http: accept on an adopted listener failed: {}", ec.message());
          }
          acceptOn(adopted);
        });
  }

  void accept() {
    acceptor_.async_accept(net::make_strand(*ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) {
        std::make_shared<Session>(std::move(s), options_, handler_, ioc_)->run();
      } else {
        spdlog::warn("http: accept failed: {}", ec.message());
      }
      if (acceptor_.is_open()) accept();
    });
  }

  ServerOptions options_;
  std::shared_ptr<const Handler> handler_;
  std::shared_ptr<net::io_context> ioc_;
  tcp::acceptor acceptor_;
  // Keeps the threads running while there is nothing to accept (a server without a listener of
  // its own, before anything was adopted).
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::mutex stop_mu_;
  bool stopped_ = false;
};

}  // namespace

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  for (const auto& h : headers)
    if (h.name == lower_name) return h.value;
  return std::nullopt;
}

std::optional<std::string_view> Response::header(std::string_view lower_name) const {
  for (const auto& h : headers)
    if (h.name == lower_name) return h.value;
  return std::nullopt;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.push_back({"content-type", "application/json"});
  r.body = std::move(body);
  return r;
}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler handler) {
  auto server = std::make_unique<BeastServer>(std::move(options), std::move(handler));
  GUST_TRY(server->listen());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace gust::http
