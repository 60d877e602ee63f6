// The webhook: an HTTP/1.1 POST of the event over Boost.Beast, with one deadline for resolve, connect, write and
// read, and URL parsing for plain http:// targets.
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "orchestrator/hook_delivery.hpp"

namespace patchwave::orchestrator {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::chrono::milliseconds kSlice{100};  // how often `stop` is looked at
constexpr std::size_t kResponseLimit = 64 * 1024;
constexpr std::size_t kBodyInError = 200;  // bytes of an error answer's body quoted in the failure

bool has_control_or_space(std::string_view text) {
    for (unsigned char c : text) {
        if (c <= 0x20 || c == 0x7f) return true;
    }
    return false;
}

std::string printable(std::string_view text) {
    std::string out;
    for (unsigned char c : text.substr(0, kBodyInError))
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : ' ';
    if (text.size() > kBodyInError) out += "...";
    return out;
}

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view url) {
    const std::string quoted = "\"" + std::string(url) + "\"";
    if (has_control_or_space(url))
        return fail(Errc::invalid_argument, quoted + " contains spaces or control characters");
    constexpr std::string_view kScheme = "http://";
    if (url.starts_with("https://")) {
        return fail(Errc::invalid_argument,
                    quoted + ": https is not supported; use an http:// URL (a local TLS proxy can forward it)");
    }
    if (!url.starts_with(kScheme)) return fail(Errc::invalid_argument, quoted + " is not an http:// URL");
    std::string_view rest = url.substr(kScheme.size());
    const std::size_t end_of_authority = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end_of_authority);
    std::string_view target = end_of_authority == std::string_view::npos ? "" : rest.substr(end_of_authority);
    if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    if (authority.find('@') != std::string_view::npos) {
        return fail(Errc::invalid_argument, quoted + ": credentials in the URL are not supported");
    }
    HttpUrl parsed;
    std::string_view port;
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return fail(Errc::invalid_argument, quoted + ": unclosed '[' in the host");
        parsed.host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && !after.starts_with(':')) {
            return fail(Errc::invalid_argument, quoted + ": unexpected text after the IPv6 address");
        }
        if (!after.empty()) port = after.substr(1);
    } else {
        const std::size_t colon = authority.find(':');
        parsed.host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (parsed.host.empty()) return fail(Errc::invalid_argument, quoted + " has no host");
    if (port.empty()) {
        parsed.port = "80";
    } else {
        unsigned value = 0;
        for (char c : port) {
            if (c < '0' || c > '9' || value > 65535) {
                return fail(Errc::invalid_argument, quoted + ": port \"" + std::string(port) + "\" is not a number");
            }
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value == 0 || value > 65535) {
            return fail(Errc::invalid_argument, quoted + ": port " + std::string(port) + " is outside 1-65535");
        }
        parsed.port = std::to_string(value);
    }
    parsed.target = target.empty() ? "/" : (target.starts_with('?') ? "/" + std::string(target) : std::string(target));
    return parsed;
}

namespace {

// One POST: resolve, connect, write, read, each step started by the previous one's completion, all on one
// io_context run by the caller's thread; the deadline timer (or a stop) closes everything to end it early.
class Exchange {
public:
    Exchange(const HttpUrl& url, const std::string& body, std::string_view event_kind,
             std::chrono::milliseconds timeout)
        : url_(url), timeout_(timeout) {
        const std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
        request_.method(http::verb::post);
        request_.target(url.target);
        request_.version(11);
        request_.set(http::field::host, url.port == "80" ? host : host + ":" + url.port);
        request_.set(http::field::user_agent, "patchwave");
        request_.set(http::field::content_type, "application/json");
        request_.set(http::field::connection, "close");
        request_.set("X-Patchwave-Event", std::string(event_kind));
        request_.body() = body;
        request_.prepare_payload();
        parser_.body_limit(kResponseLimit);
    }

    Status run(const std::atomic<bool>& stop) {
        deadline_.expires_after(timeout_);
        deadline_.async_wait([this](const boost::system::error_code& error) {
            if (error) return;  // cancelled: the exchange ended first
            timed_out_ = true;
            give_up();
        });
        resolver_.async_resolve(
            url_.host, url_.port,
            [this](const boost::system::error_code& error, const tcp::resolver::results_type& endpoints) {
                on_resolved(error, endpoints);
            });
        // Run in slices so a stopping runner is not held for the whole timeout. Resolving a name runs getaddrinfo
        // on Asio's own thread, which cannot be interrupted; it ends on the resolver's own timeouts.
        while (!io_.stopped()) {
            io_.run_for(kSlice);
            if (stop.load() && !stopped_ && !outcome_) {
                stopped_ = true;
                give_up();
            }
        }
        if (timed_out_) {
            return fail(Errc::timeout,
                        "no answer from " + where() + " within " + std::to_string(timeout_.count()) + " ms");
        }
        if (stopped_) return fail(Errc::state, "stopped: the hook runner is shutting down");
        if (!outcome_)
            return fail(Errc::internal, "the webhook exchange with " + where() + " ended without an outcome");
        return *outcome_;
    }

private:
    std::string where() const { return url_.host + ":" + url_.port; }

    void on_resolved(const boost::system::error_code& error, const tcp::resolver::results_type& endpoints) {
        if (error) return failed("resolving", error);
        asio::async_connect(
            socket_, endpoints, [this](const boost::system::error_code& connect_error, const tcp::endpoint&) {
                if (connect_error) return failed("connecting to", connect_error);
                http::async_write(socket_, request_, [this](const boost::system::error_code& write_error, std::size_t) {
                    on_written(write_error);
                });
            });
    }

    void on_written(const boost::system::error_code& error) {
        if (error) return failed("sending to", error);
        http::async_read(socket_, buffer_, parser_,
                         [this](const boost::system::error_code& read_error, std::size_t) { on_read(read_error); });
    }

    void on_read(const boost::system::error_code& error) {
        if (error) return failed("reading the answer of", error);
        const auto& response = parser_.get();
        const unsigned code = response.result_int();
        if (code >= 200 && code < 300) return finish({});
        std::string message = "HTTP " + std::to_string(code);
        if (!response.reason().empty()) message += " " + std::string(response.reason());
        if (!response.body().empty()) message += ": " + printable(response.body());
        finish(fail(Errc::io, message + " from " + where()));
    }

    void failed(std::string_view step, const boost::system::error_code& error) {
        finish(fail(Errc::io, std::string(step) + " " + where() + ": " + error.message()));
    }
    void finish(Status status) {
        if (!outcome_) outcome_ = std::move(status);
        give_up();
    }
    void give_up() {
        boost::system::error_code ignored;
        resolver_.cancel();
        socket_.close(ignored);
        deadline_.cancel();
    }

    const HttpUrl& url_;
    std::chrono::milliseconds timeout_;
    asio::io_context io_;
    tcp::resolver resolver_{io_};
    tcp::socket socket_{io_};
    asio::steady_timer deadline_{io_};
    boost::beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response_parser<http::string_body> parser_;
    std::optional<Status> outcome_;
    bool timed_out_ = false;
    bool stopped_ = false;
};

}  // namespace

Status post_webhook(const HttpUrl& url, const std::string& body, std::string_view event_kind,
                    std::chrono::milliseconds timeout, const std::atomic<bool>& stop) {
    Exchange exchange(url, body, event_kind, timeout);
    return exchange.run(stop);
}

}  // namespace patchwave::orchestrator
