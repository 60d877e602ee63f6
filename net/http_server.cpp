#include "net/http_server.hpp"

#include <algorithm>
#include <cctype>
#include <list>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

namespace patchwave::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

class Connection;

}  // namespace

struct HttpServer::Shared {
    Shared(asio::io_context& io, std::string name, Handler serve, HttpServerLimits bounds)
        : acceptor(io), retry(io), what(std::move(name)), handler(std::move(serve)), limits(bounds) {}
    tcp::acceptor acceptor;
    asio::steady_timer retry;  // after a failed accept (out of descriptors): a pause, not a spin
    std::string what;
    Handler handler;
    HttpServerLimits limits;
    std::list<std::weak_ptr<Connection>> connections;
    bool closed = false;
};

namespace {

// One client connection: read a request (bounded in size and time), answer,
// and read the next one while the client keeps the connection alive.
class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared)
        : socket_(std::move(socket)),
          timer_(socket_.get_executor()),
          buffer_(shared->limits.max_request_bytes),
          shared_(std::move(shared)) {}

    void start() { read(); }

    void close() {
        boost::system::error_code ignored;
        timer_.cancel();
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

private:
    void arm_timer() {
        timer_.expires_after(shared_->limits.timeout);
        timer_.async_wait([weak = weak_from_this()](boost::system::error_code error) {
            if (error) return;
            if (auto self = weak.lock()) self->close();
        });
    }

    void read() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(shared_->limits.max_request_bytes));
        parser_->body_limit(0);
        arm_timer();
        http::async_read(socket_, buffer_, *parser_,
                         [self = shared_from_this()](boost::system::error_code error, std::size_t) {
                             self->on_read(error);
                         });
    }

    void on_read(boost::system::error_code error) {
        timer_.cancel();
        if (shared_->closed) return close();
        if (error == http::error::header_limit || error == http::error::buffer_overflow) {
            return answer(HttpResponse::text(431, "request headers over " +
                                                      std::to_string(shared_->limits.max_request_bytes) + " bytes"),
                          false);
        }
        if (error == http::error::body_limit) return answer(HttpResponse::text(413, "requests have no body here"), false);
        if (error) return close();  // the client went away, timed out or sent garbage
        const auto& request = parser_->get();
        ++served_;
        const bool keep = request.keep_alive() && served_ < shared_->limits.max_requests_per_connection;
        if (request.method() != http::verb::get) {
            HttpResponse refused = HttpResponse::text(405, "only GET is served here: this interface is read-only");
            refused.headers.emplace_back("Allow", "GET");
            return answer(std::move(refused), false);
        }
        const auto host = request[http::field::host];
        if (!is_literal_host(std::string_view(host.data(), host.size()))) {
            return answer(HttpResponse::text(421, "the Host header must be an IP address or localhost"), false);
        }
        const std::string_view target(request.target().data(), request.target().size());
        const std::size_t mark = target.find('?');
        HttpRequest parsed;
        parsed.path = std::string(target.substr(0, mark));
        if (mark != std::string_view::npos) parsed.query = parse_query(target.substr(mark + 1));
        HttpResponse response;
        try {
            response = shared_->handler(parsed);
        } catch (const std::exception& e) {
            // Nothing may escape into the daemon's event loop.
            spdlog::error("{}: {} failed: {}", shared_->what, parsed.path, e.what());
            response = HttpResponse::text(500, "internal error");
        }
        answer(std::move(response), keep);
    }

    void answer(HttpResponse answer, bool keep_alive) {
        response_ = {};
        response_.version(11);
        response_.result(answer.status);
        response_.set(http::field::server, "patchwave");
        response_.set(http::field::content_type, answer.content_type);
        response_.set(http::field::cache_control, "no-store");
        response_.set("X-Content-Type-Options", "nosniff");
        for (auto& [name, value] : answer.headers) response_.set(name, value);
        response_.body() = std::move(answer.body);
        response_.keep_alive(keep_alive);
        response_.prepare_payload();
        arm_timer();
        http::async_write(socket_, response_,
                          [self = shared_from_this(), keep_alive](boost::system::error_code error, std::size_t) {
                              self->timer_.cancel();
                              if (error || !keep_alive || self->shared_->closed) return self->close();
                              self->read();
                          });
    }

    tcp::socket socket_;
    asio::steady_timer timer_;
    boost::beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::empty_body>> parser_;
    http::response<http::string_body> response_;
    std::shared_ptr<HttpServer::Shared> shared_;
    std::size_t served_ = 0;
};

void accept(const std::shared_ptr<HttpServer::Shared>& shared) {
    shared->acceptor.async_accept([shared](boost::system::error_code error, tcp::socket socket) {
        if (shared->closed) return;
        if (error) {
            // Out of descriptors and the like: keep serving, after a pause rather than a spin.
            spdlog::warn("{}: accepting a connection: {}", shared->what, error.message());
            shared->retry.expires_after(std::chrono::milliseconds(200));
            shared->retry.async_wait([shared](boost::system::error_code cancelled) {
                if (!cancelled && !shared->closed) accept(shared);
            });
            return;
        }
        shared->connections.remove_if([](const std::weak_ptr<Connection>& c) { return c.expired(); });
        if (shared->connections.size() >= shared->limits.max_connections) {
            // Best effort and without waiting: a full server must not queue work for strangers.
            static constexpr std::string_view kBusy =
                "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
            boost::system::error_code ignored;
            socket.non_blocking(true, ignored);
            socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ignored);
            socket.close(ignored);
        } else {
            auto connection = std::make_shared<Connection>(std::move(socket), shared);
            shared->connections.push_back(connection);
            connection->start();
        }
        accept(shared);
    });
}

}  // namespace

HttpResponse HttpResponse::text(unsigned status, std::string message) {
    HttpResponse response;
    response.status = status;
    response.body = std::move(message) + "\n";
    return response;
}

Result<std::unique_ptr<HttpServer>> HttpServer::open(asio::io_context& io, const Endpoint& listen, std::string what,
                                                     Handler handler, HttpServerLimits limits) {
    auto shared = std::make_shared<Shared>(io, what, std::move(handler), limits);
    boost::system::error_code error;
    const auto failed = [&](std::string_view step) {
        return fail(Errc::io, what + ": cannot " + std::string(step) + " " + to_string(listen) + ": " + error.message());
    };
    shared->acceptor.open(listen.protocol(), error);
    if (error) return failed("open a socket for");
    shared->acceptor.set_option(tcp::acceptor::reuse_address(true), error);
    shared->acceptor.bind(listen, error);
    if (error) return failed("listen on");
    shared->acceptor.listen(asio::socket_base::max_listen_connections, error);
    if (error) return failed("listen on");
    std::unique_ptr<HttpServer> server(new HttpServer(shared));
    server->endpoint_ = shared->acceptor.local_endpoint(error);
    accept(shared);
    return server;
}

HttpServer::~HttpServer() { close(); }

void HttpServer::close() {
    if (shared_->closed) return;
    shared_->closed = true;
    boost::system::error_code ignored;
    shared_->retry.cancel();
    shared_->acceptor.close(ignored);
    for (const auto& weak : shared_->connections) {
        if (auto connection = weak.lock()) connection->close();
    }
    shared_->connections.clear();
}

bool is_literal_host(std::string_view host) {
    std::string_view name = host;
    if (host.starts_with('[')) {
        const std::size_t close = host.find(']');
        if (close == std::string_view::npos) return false;
        name = host.substr(1, close - 1);
        const std::string_view rest = host.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':')) return false;
        boost::system::error_code error;
        (void)asio::ip::make_address_v6(std::string(name), error);
        return !error;
    }
    if (const std::size_t colon = host.find(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        const std::string_view port = host.substr(colon + 1);
        if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return false;
    }
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "localhost") return true;
    boost::system::error_code error;
    (void)asio::ip::make_address_v4(lower, error);
    return !error;
}

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0
                   && hex_digit(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

}  // namespace

std::map<std::string, std::string> parse_query(std::string_view query) {
    std::map<std::string, std::string> out;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (part.empty()) continue;
        const std::size_t equals = part.find('=');
        const std::string_view name = part.substr(0, equals);
        const std::string_view value = equals == std::string_view::npos ? std::string_view() : part.substr(equals + 1);
        out[percent_decode(name)] = percent_decode(value);
    }
    return out;
}

}  // namespace patchwave::net
