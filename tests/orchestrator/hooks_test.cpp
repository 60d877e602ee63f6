#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "orchestrator/hook_delivery.hpp"
#include "orchestrator/hooks.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace patchwave::orchestrator;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

Event sample_event(std::int64_t id = 7) {
    Event event;
    event.id = id;
    event.time = parse_timestamp("2026-11-20T10:00:00Z").value();
    event.kind = "wave-opened";
    event.rollout_id = "2026-11-B";
    event.wave = 1;
    event.wave_name = "prod";
    event.actor = "patchwave serve (auto)";
    event.reason = "wave test passed and soaked";
    event.details = {{"targeted", 9}};
    return event;
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::size_t count_lines(const std::filesystem::path& path) {
    const std::string text = read_text(path);
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// A one-thread HTTP server on 127.0.0.1: answers each request with the next status of `answers` (the last one
// repeats) and records what it got.
class TestServer {
public:
    struct Request {
        std::string method, target, content_type, body;
    };

    explicit TestServer(std::vector<unsigned> answers)
        : answers_(std::move(answers)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~TestServer() {
        asio::post(io_, [this] {
            boost::system::error_code ignored;
            acceptor_.close(ignored);
        });
        io_.stop();
        thread_.join();
    }
    std::string url(const std::string& path = "/hooks/patchwave") const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
    }
    std::vector<Request> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    void accept() {
        acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
            if (error) return;
            serve(socket);
            accept();
        });
    }
    // Synchronous within the server thread: the client is the hook runner, one request per connection.
    void serve(tcp::socket& socket) {
        boost::beast::flat_buffer buffer;
        http::request<http::string_body> request;
        boost::system::error_code error;
        http::read(socket, buffer, request, error);
        if (error) return;
        unsigned status = 0;
        {
            std::lock_guard lock(mutex_);
            requests_.push_back({std::string(request.method_string()), std::string(request.target()),
                                 std::string(request[http::field::content_type]), request.body()});
            status = answers_[std::min(requests_.size(), answers_.size()) - 1];
        }
        http::response<http::string_body> response{static_cast<http::status>(status), 11};
        response.set(http::field::content_type, "text/plain");
        response.body() = status == 200 ? "ok" : "broken";
        response.prepare_payload();
        http::write(socket, response, error);
        socket.shutdown(tcp::socket::shutdown_both, error);
    }

    std::vector<unsigned> answers_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<Request> requests_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then released).
unsigned short unused_port() {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

std::unique_ptr<HookRunner> start(HookConfig config) {
    auto runner = HookRunner::start(std::move(config));
    REQUIRE(runner);
    return std::move(*runner);
}

}  // namespace

TEST_CASE("a command hook gets the exact event JSON on stdin", "[orchestrator][hooks]") {
    testing::TempDir dir;
    HookConfig config;
    config.command = "cat > '" + (dir / "event.json").string() + "'";
    config.timeout = 5s;
    auto runner = start(config);
    const Event event = sample_event();
    runner->emit(event);
    REQUIRE(runner->drain(10s));
    CHECK(read_text(dir / "event.json") == event.to_json().dump());
    const auto json = nlohmann::json::parse(read_text(dir / "event.json"));
    CHECK(json["wave"] == 2);
    CHECK(json["kind"] == "wave-opened");
    CHECK(runner->stats().delivered == 1);
    CHECK(runner->stats().failed == 0);
}

TEST_CASE("a failing command is retried, then counted failed, and the next event goes on", "[orchestrator][hooks]") {
    // retries = 1: two attempts per event, 1 s apart; both events are tried in order.
    testing::TempDir dir;
    const auto log = dir / "attempts";
    HookConfig config;
    config.command = "cat >> '" + log.string() + "'; echo >> '" + log.string() + "'; exit 3";
    config.timeout = 5s;
    config.retries = 1;
    auto runner = start(config);
    runner->emit(sample_event(1));
    runner->emit(sample_event(2));
    REQUIRE(runner->drain(15s));
    CHECK(count_lines(log) == 4);
    std::istringstream lines(read_text(log));
    std::vector<std::int64_t> ids;
    for (std::string line; std::getline(lines, line) && ids.size() < 10;) ids.push_back(nlohmann::json::parse(line)["id"]);
    CHECK(ids == std::vector<std::int64_t>{1, 1, 2, 2});
    CHECK(runner->stats().failed == 2);
    CHECK(runner->stats().delivered == 0);
}

TEST_CASE("a slow command is killed at its timeout and never blocks emit", "[orchestrator][hooks]") {
    testing::TempDir dir;
    const auto pid_file = dir / "sleep.pid";
    HookConfig config;
    // The sleep is a background child: killing the process group must take it too.
    config.command = "sleep 30 & echo $! > '" + pid_file.string() + "'; wait";
    config.timeout = 1s;
    config.retries = 0;
    auto runner = start(config);
    const auto before = Clock::now();
    runner->emit(sample_event());
    CHECK(Clock::now() - before < 1s);
    REQUIRE(runner->drain(10s));
    CHECK(Clock::now() - before < 8s);
    CHECK(runner->stats().failed == 1);
    CHECK(runner->stats().delivered == 0);

    // The sleep is gone (or a zombie about to be reaped by init) within a few seconds.
    const std::string pid = read_text(pid_file).substr(0, read_text(pid_file).find('\n'));
    REQUIRE_FALSE(pid.empty());
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i) {
        const std::string stat = read_text(std::filesystem::path("/proc") / pid / "stat");
        gone = stat.empty() || stat.find(" Z ") != std::string::npos || stat.find("(sleep)") == std::string::npos;
        if (!gone) std::this_thread::sleep_for(100ms);
    }
    CHECK(gone);
}

TEST_CASE("destroying the runner kills a running command promptly", "[orchestrator][hooks]") {
    testing::TempDir dir;
    HookConfig config;
    config.command = "touch '" + (dir / "started").string() + "'; sleep 30";
    config.timeout = 20s;
    auto runner = start(config);
    runner->emit(sample_event());
    for (int i = 0; i < 100 && !std::filesystem::exists(dir / "started"); ++i) std::this_thread::sleep_for(50ms);
    REQUIRE(std::filesystem::exists(dir / "started"));
    const auto before = Clock::now();
    runner.reset();
    CHECK(Clock::now() - before < 5s);
}

TEST_CASE("emit drops events beyond the queue limit", "[orchestrator][hooks]") {
    HookConfig config;
    config.command = "sleep 0.3";
    config.queue_limit = 1;
    auto runner = start(config);
    for (int i = 1; i <= 5; ++i) runner->emit(sample_event(i));
    // At most one in delivery and one waiting.
    CHECK(runner->stats().dropped >= 3);
    REQUIRE(runner->drain(10s));
    CHECK(runner->stats().delivered + runner->stats().dropped == 5);
}

TEST_CASE("a webhook gets a POST with the event JSON", "[orchestrator][hooks]") {
    TestServer server({200});
    HookConfig config;
    config.webhook = server.url();
    config.timeout = 5s;
    auto runner = start(config);
    const Event event = sample_event();
    runner->emit(event);
    REQUIRE(runner->drain(10s));
    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].target == "/hooks/patchwave");
    CHECK(requests[0].content_type == "application/json");
    CHECK(requests[0].body == event.to_json().dump());
    CHECK(runner->stats().delivered == 1);
}

TEST_CASE("a webhook answering 500 is retried", "[orchestrator][hooks]") {
    TestServer server({500, 200});
    HookConfig config;
    config.webhook = server.url();
    config.timeout = 5s;
    config.retries = 1;
    auto runner = start(config);
    runner->emit(sample_event());
    REQUIRE(runner->drain(10s));
    const auto requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].body == requests[1].body);
    CHECK(runner->stats().delivered == 1);
    CHECK(runner->stats().failed == 0);
}

TEST_CASE("a webhook that keeps answering 500 is counted failed", "[orchestrator][hooks]") {
    TestServer server({500});
    const auto url = parse_http_url(server.url());
    REQUIRE(url);
    std::atomic<bool> stop{false};
    auto result = post_webhook(*url, "{}", "paused", 5000ms, stop);
    REQUIRE_FALSE(result);
    CHECK_THAT(result.error().message(), Catch::Contains("HTTP 500") && Catch::Contains("broken"));

    HookConfig config;
    config.webhook = server.url();
    config.timeout = 5s;
    config.retries = 0;
    auto runner = start(config);
    runner->emit(sample_event());
    REQUIRE(runner->drain(10s));
    CHECK(server.requests().size() == 2);
    CHECK(runner->stats().failed == 1);
}

TEST_CASE("an unreachable webhook counts failed after its retries", "[orchestrator][hooks]") {
    HookConfig config;
    config.webhook = "http://127.0.0.1:" + std::to_string(unused_port()) + "/x";
    config.timeout = 2s;
    config.retries = 1;
    auto runner = start(config);
    runner->emit(sample_event());
    REQUIRE(runner->drain(10s));
    CHECK(runner->stats().failed == 1);
    CHECK(runner->stats().delivered == 0);
}

TEST_CASE("both targets get every event, in order", "[orchestrator][hooks]") {
    testing::TempDir dir;
    TestServer server({200});
    HookConfig config;
    config.command = "cat >> '" + (dir / "events").string() + "'; echo >> '" + (dir / "events").string() + "'";
    config.webhook = server.url();
    config.timeout = 5s;
    auto runner = start(config);
    for (int i = 1; i <= 3; ++i) runner->emit(sample_event(i));
    REQUIRE(runner->drain(10s));
    CHECK(runner->stats().delivered == 6);
    const auto requests = server.requests();
    REQUIRE(requests.size() == 3);
    std::string expected;
    for (int i = 1; i <= 3; ++i) {
        CHECK(nlohmann::json::parse(requests[static_cast<std::size_t>(i - 1)].body)["id"] == i);
        expected += sample_event(i).to_json().dump() + "\n";
    }
    CHECK(read_text(dir / "events") == expected);
}

TEST_CASE("hook configs and webhook URLs are validated", "[orchestrator][hooks]") {
    HookConfig config;
    CHECK(validate(config));
    config.webhook = "https://example.test/hook";
    auto https = validate(config);
    REQUIRE_FALSE(https);
    CHECK(https.error().is(Errc::invalid_argument));
    CHECK_THAT(https.error().message(), Catch::Contains("hooks.webhook") && Catch::Contains("https"));
    for (const char* bad : {"ftp://x/", "http://", "http://:80/", "http://h:0/", "http://h:99999/", "http://h:8x/",
                            "http://u:p@h/", "http://h /"}) {
        config.webhook = bad;
        CHECK_FALSE(validate(config));
    }
    config.webhook = "http://localhost";
    CHECK(validate(config));
    config.timeout = 0s;
    auto zero = validate(config);
    REQUIRE_FALSE(zero);
    CHECK_THAT(zero.error().message(), Catch::Contains("hooks.timeout"));
    CHECK_FALSE(HookRunner::start(config));

    auto url = parse_http_url("http://hooks.example.test:8080?x=1");
    REQUIRE(url);
    CHECK(url->host == "hooks.example.test");
    CHECK(url->port == "8080");
    CHECK(url->target == "/?x=1");
    auto v6 = parse_http_url("http://[::1]/a/b");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == "80");
    CHECK(v6->target == "/a/b");
}

TEST_CASE("a webhook by host name is resolved", "[orchestrator][hooks]") {
    TestServer server({200});
    auto url = parse_http_url(server.url());
    REQUIRE(url);
    url->host = "localhost";
    std::atomic<bool> stop{false};
    // localhost may resolve to ::1 first; async_connect then tries 127.0.0.1.
    auto result = post_webhook(*url, "{\"a\":1}", "published", 5000ms, stop);
    CHECK(result);
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].body == "{\"a\":1}");
}
