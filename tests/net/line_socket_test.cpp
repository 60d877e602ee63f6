#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <sys/stat.h>

#include "net/line_socket.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;
using namespace std::chrono_literals;

namespace {

// Runs an io_context on its own thread for the length of a test.
struct Loop {
    boost::asio::io_context io;
    std::thread thread;
    void start() {
        thread = std::thread([this] { io.run(); });
    }
    ~Loop() {
        io.stop();
        if (thread.joinable()) thread.join();
    }
};

}  // namespace

TEST_CASE("line socket: one line in, the handler's line out, socket file 0600", "[line-socket]") {
    testing::TempDir dir;
    const auto path = dir.path() / "control.sock";
    Loop loop;
    auto work = boost::asio::make_work_guard(loop.io);
    auto server = net::LineSocketServer::open(loop.io, path, [](const std::string& request) {
        return "echo:" + request;
    });
    REQUIRE(server);
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    loop.start();

    auto answer = net::line_socket_request(path, R"({"command":"status"})", 5s);
    REQUIRE(answer);
    CHECK(*answer == R"(echo:{"command":"status"})");

    boost::asio::post(loop.io, [&] { (*server)->close(); });
    work.reset();
    loop.thread.join();
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("line socket: not_found when nothing listens, timeout when nothing answers", "[line-socket]") {
    testing::TempDir dir;
    auto missing = net::line_socket_request(dir.path() / "none.sock", "{}", 2s);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().is(Errc::not_found));
    CHECK_THAT(missing.error().message(), Catch::Contains("none.sock"));

    // A listener that accepts at the kernel level but never reads or answers.
    boost::asio::io_context io;
    boost::asio::local::stream_protocol::acceptor silent(
        io, boost::asio::local::stream_protocol::endpoint((dir.path() / "silent.sock").string()));
    const auto started = std::chrono::steady_clock::now();
    auto late = net::line_socket_request(dir.path() / "silent.sock", "{}", 300ms);
    REQUIRE_FALSE(late);
    CHECK(late.error().is(Errc::timeout));
    CHECK(std::chrono::steady_clock::now() - started < 5s);
}
