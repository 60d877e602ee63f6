#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "net/http_server.hpp"

using namespace patchwave;
using namespace patchwave::net;
using boost::asio::ip::tcp;

namespace {

// The server on 127.0.0.1 (a free port) with its loop on a thread of its own;
// the test talks to it with blocking sockets that give up after 5 s.
class ServerFixture {
public:
    explicit ServerFixture(HttpServerLimits limits = {}) {
        auto opened = HttpServer::open(
            io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0), "test_listen",
            [](const HttpRequest& request) {
                std::string body = "path=" + request.path;
                for (const auto& [name, value] : request.query) body += " " + name + "=" + value;
                HttpResponse response = HttpResponse::text(200, body);
                response.headers.emplace_back("X-Test", "yes");
                return response;
            },
            limits);
        REQUIRE(opened);
        server_ = std::move(*opened);
        endpoint_ = server_->endpoint();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~ServerFixture() {
        std::promise<void> closed;
        boost::asio::post(io_, [&] {
            server_.reset();
            closed.set_value();
        });
        closed.get_future().wait_for(std::chrono::seconds(5));
        work_.reset();
        io_.stop();
        thread_.join();
    }

    tcp::socket connect() {
        tcp::socket socket(client_io_);
        socket.connect(endpoint_);
        timeval timeout{5, 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        return socket;
    }

    const tcp::endpoint& endpoint() const { return endpoint_; }

private:
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
    std::unique_ptr<HttpServer> server_;
    tcp::endpoint endpoint_;
    std::thread thread_;
    boost::asio::io_context client_io_;
};

// Reads until the server closes the connection (or 5 s pass).
std::string read_all(tcp::socket& socket) {
    std::string out;
    char buffer[4096];
    for (int reads = 0; reads < 1000; ++reads) {
        boost::system::error_code error;
        const std::size_t n = socket.read_some(boost::asio::buffer(buffer), error);
        out.append(buffer, n);
        if (error) break;
    }
    return out;
}

std::string send_raw(ServerFixture& server, const std::string& request) {
    auto socket = server.connect();
    boost::asio::write(socket, boost::asio::buffer(request));
    return read_all(socket);
}

std::string get(ServerFixture& server, const std::string& target, const std::string& host = "127.0.0.1") {
    return send_raw(server, "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
}

}  // namespace

TEST_CASE("http server answers a GET with the handler's response and safe headers", "[http]") {
    // Path and decoded query reach the handler; no-store and nosniff are always set.
    ServerFixture server;
    const std::string answer = get(server, "/api/events?after=3&name=a%20b+c");
    CHECK(answer.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(answer.find("Cache-Control: no-store\r\n") != std::string::npos);
    CHECK(answer.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
    CHECK(answer.find("X-Test: yes\r\n") != std::string::npos);
    CHECK(answer.ends_with("\r\n\r\npath=/api/events after=3 name=a b c\n"));
}

TEST_CASE("http server refuses methods other than GET", "[http]") {
    // Read-only: POST, PUT, DELETE ... get 405 and an Allow header.
    ServerFixture server;
    const std::string answer =
        send_raw(server, "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
    CHECK(answer.starts_with("HTTP/1.1 405 "));
    CHECK(answer.find("Allow: GET\r\n") != std::string::npos);
}

TEST_CASE("http server refuses a Host header that names a site", "[http]") {
    // A rebinding page's requests carry its own host name: 421, nothing served.
    ServerFixture server;
    CHECK(get(server, "/", "evil.example:9466").starts_with("HTTP/1.1 421 "));
    CHECK(get(server, "/", "localhost:9466").starts_with("HTTP/1.1 200 "));
    CHECK(get(server, "/", "[::1]:80").starts_with("HTTP/1.1 200 "));
}

TEST_CASE("http server refuses requests over the size limit and requests with a body", "[http]") {
    // 431 for headers past max_request_bytes, 413 for a body.
    HttpServerLimits limits;
    limits.max_request_bytes = 1024;
    ServerFixture server(limits);
    const std::string big = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + std::string(4000, 'a') + "\r\n\r\n";
    CHECK(send_raw(server, big).starts_with("HTTP/1.1 431 "));
    CHECK(send_raw(server, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello")
              .starts_with("HTTP/1.1 413 "));
}

TEST_CASE("http server keeps a connection alive for several requests", "[http]") {
    // Two requests on one connection, both answered; the second closes it.
    ServerFixture server;
    const std::string answer = send_raw(server,
                                        "GET /one HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                                        "GET /two HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    CHECK(answer.find("path=/one") != std::string::npos);
    CHECK(answer.find("path=/two") != std::string::npos);
}

TEST_CASE("http server turns away connections over its limit and closes idle ones", "[http]") {
    // With two idle connections open, a third gets 503; idle ones close after the timeout.
    HttpServerLimits limits;
    limits.max_connections = 2;
    limits.timeout = std::chrono::milliseconds(1500);
    ServerFixture server(limits);
    auto first = server.connect();
    auto second = server.connect();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both accepted
    CHECK(get(server, "/").starts_with("HTTP/1.1 503 "));
    const auto started = std::chrono::steady_clock::now();
    CHECK(read_all(first).empty());  // closed by the server, no answer
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(waited < std::chrono::seconds(4));
    CHECK(read_all(second).empty());
    CHECK(get(server, "/again").find("path=/again") != std::string::npos);
}

TEST_CASE("literal hosts and query strings are recognised", "[http]") {
    // IP literals and localhost with or without a port; names and junk are not.
    CHECK(is_literal_host("127.0.0.1"));
    CHECK(is_literal_host("127.0.0.1:9464"));
    CHECK(is_literal_host("LOCALHOST:1"));
    CHECK(is_literal_host("[::1]"));
    CHECK_FALSE(is_literal_host(""));
    CHECK_FALSE(is_literal_host("example.net"));
    CHECK_FALSE(is_literal_host("127.0.0.1:x"));
    CHECK_FALSE(is_literal_host("[::1"));
    CHECK_FALSE(is_literal_host("127.0.0.1.evil.example"));
    const auto query = parse_query("a=1&b=%41%2&&c&a=2");
    CHECK(query.at("a") == "2");
    CHECK(query.at("b") == "A%2");
    CHECK(query.at("c").empty());
}
