// A minimal HTTP/1.1 client (one request per connection) for the CLI and tests.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "http/http.h"

namespace gust::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr uint64_t kMaxResponseBytes = 128ull << 20;

}  // namespace

Result<Endpoint> parseEndpoint(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Error::invalid(fmt::format(
        "endpoint '{}' {}; expected http://HOST:PORT, e.g. http://127.0.0.1:8080", url, why));
  };
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return bad("is not a URL");
  if (parsed->scheme() != "http") return bad("must use http://");
  if (!parsed->has_authority() || parsed->host().empty()) return bad("has no host");
  if (!parsed->path().empty() && parsed->path() != "/") return bad("must not have a path");
  Endpoint ep;
  ep.host = parsed->host_address();
  if (parsed->has_port()) {
    auto port = parsed->port();
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return bad("has an invalid port");
    ep.port = static_cast<uint16_t>(value);
  }
  return ep;
}

std::string encodePathSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

Result<Response> fetch(const Endpoint& endpoint, const ClientRequest& request,
                       std::chrono::milliseconds timeout) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> req;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxResponseBytes);

  req.method_string(request.method);
  req.target(request.target);
  req.version(11);
  req.set(bhttp::field::host, fmt::format("{}:{}", endpoint.host, endpoint.port));
  req.set(bhttp::field::user_agent, "gust-cli");
  for (const auto& h : request.headers) req.set(h.name, h.value);
  req.body() = request.body;
  req.keep_alive(false);
  req.prepare_payload();

  beast::error_code result;
  const char* stage = "resolve";
  stream.expires_after(timeout);
  resolver.async_resolve(
      endpoint.host, std::to_string(endpoint.port),
      [&](beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) return void(result = ec);
        stage = "connect to";
        stream.async_connect(results, [&](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return void(result = ec);
          stage = "send a request to";
          bhttp::async_write(stream, req, [&](beast::error_code ec, size_t) {
            if (ec) return void(result = ec);
            stage = "read the response from";
            bhttp::async_read(stream, buffer, parser,
                              [&](beast::error_code ec, size_t) { result = ec; });
          });
        });
      });
  ioc.run();

  if (result == beast::error::timeout) {
    return Error{ErrorCode::kDeadlineExceeded,
                 fmt::format("no answer from http://{}:{} within {} ms", endpoint.host,
                             endpoint.port, timeout.count())};
  }
  if (result) {
    return Error::unavailable(fmt::format("cannot {} http://{}:{}: {}", stage, endpoint.host,
                                          endpoint.port, result.message()));
  }
  auto& msg = parser.get();
  Response out;
  out.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.headers.push_back({std::move(name), std::string(field.value())});
  }
  out.body = std::move(msg.body());
  return out;
}

}  // namespace gust::http
