// A small read-only HTTP/1.1 server on the daemon's event loop (Boost.Beast):
// GET only, bounded requests, connections and time; serves /metrics and the dashboard.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/error.hpp"
#include "net/swarm_config.hpp"

namespace patchwave::net {

struct HttpRequest {
    std::string path;                          ///< the target before '?', e.g. "/api/events"
    std::map<std::string, std::string> query;  ///< decoded query parameters (the last of a repeated name wins)
};

struct HttpResponse {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    /// Added to the defaults (Server, Cache-Control: no-store, X-Content-Type-Options: nosniff).
    std::vector<std::pair<std::string, std::string>> headers;

    /// A text/plain answer with `status` and `message` (a newline is added).
    static HttpResponse text(unsigned status, std::string message);
};

struct HttpServerLimits {
    std::size_t max_connections = 32;       ///< more are closed at once with a 503
    std::size_t max_request_bytes = 8192;   ///< request line and headers; requests have no body
    std::size_t max_requests_per_connection = 1000;
    std::chrono::milliseconds timeout{10'000};  ///< to receive a request, or to send an answer
};

/// Serves requests on the io_context's thread; the handler runs there too,
/// so it may use the daemon's state without locks. A request's Host header
/// must be an IP address or "localhost" (with any port): a page on another
/// site that points a name at 127.0.0.1 (DNS rebinding) cannot read answers.
class HttpServer {
public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    /// Binds and listens on `listen` (port 0 picks one, see endpoint()).
    /// Errc::io naming the address and `what` (e.g. "metrics_listen") when it cannot.
    static Result<std::unique_ptr<HttpServer>> open(boost::asio::io_context& io, const Endpoint& listen,
                                                    std::string what, Handler handler, HttpServerLimits limits = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// The bound address and port.
    Endpoint endpoint() const { return endpoint_; }
    /// Stops accepting and closes every connection. Idempotent.
    void close();

    struct Shared;

private:
    explicit HttpServer(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
    std::shared_ptr<Shared> shared_;
    Endpoint endpoint_;
};

/// True for "127.0.0.1", "127.0.0.1:9466", "[::1]:80", "localhost", "localhost:9466".
bool is_literal_host(std::string_view host);

/// "a=1&b=x%20y" -> {a: "1", b: "x y"}; '+' is a space. Bad escapes stay as written.
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace patchwave::net
