#include <csignal>
#include <cstdio>

#include <catch2/catch.hpp>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/torrent_info.hpp>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/file_io.hpp"
#include "support/temp_dir.hpp"
#include "swarm_harness.hpp"

using namespace patchwave;
using namespace patchwave::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t bundle_size = 6'000'000;

// Payload bytes the saved resume data says we already have.
std::uint64_t resumed_bytes(const fs::path& state_dir, const rollout::BundleId& id) {
    auto blob = read_file(state_dir / "resume" / (rollout::to_hex(id) + ".resume"), 64 << 20);
    if (!blob) return 0;
    libtorrent::error_code ec;
    const auto params = libtorrent::read_resume_data(
        libtorrent::span<const char>(blob->data(), static_cast<std::ptrdiff_t>(blob->size())), ec);
    if (ec || !params.ti) return 0;
    return static_cast<std::uint64_t>(params.have_pieces.count())
           * static_cast<std::uint64_t>(params.ti->piece_length());
}

// Fetches `id` into `staging` again from `seed` and returns the payload bytes
// this second run had to download.
std::uint64_t refetch(boost::asio::io_context& io, const fs::path& state, const fs::path& staging, Node& seed,
                      const rollout::BundleId& id, const std::string& address) {
    auto again = start_node(io, address, state);
    REQUIRE(again->swarm->fetch(id, staging, fetch_from({seed.endpoint()})));
    REQUIRE(run_until(
        io, [&] { return again->is_ready(id) || again->failed.contains(id); }, 20s));
    REQUIRE_FALSE(again->failed.contains(id));
    return again->swarm->progress(id).value().downloaded;
}

// Reads one line from `fd`, waiting at most `timeout`.
std::string read_line(int fd, std::chrono::milliseconds timeout) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (line.empty() || line.back() != '\n') {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd pfd{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) != 1) return {};
        char c = 0;
        if (::read(fd, &c, 1) != 1) return {};
        line.push_back(c);
    }
    line.pop_back();
    return line;
}

// The child side of the kill test: fetch until killed. Never returns.
[[noreturn]] void run_doomed_fetcher(int command_fd, const fs::path& state, const fs::path& staging) {
    try {
        const std::string line = read_line(command_fd, 10s);
        const auto space = line.find(' ');
        const auto seed = net::parse_endpoint(line.substr(0, space));
        const auto id = rollout::parse_bundle_id(line.substr(space + 1));
        if (!seed || !id) ::_exit(2);
        boost::asio::io_context io;
        auto node = start_node(io, "127.0.8.12", state, [](net::SwarmConfig& c) { c.resume_interval = 300ms; });
        if (!node->swarm->fetch(*id, staging, fetch_from({*seed}))) ::_exit(3);
        run_for(io, 20s);
    } catch (...) {
        ::_exit(4);
    }
    ::_exit(0);
}

}  // namespace

TEST_CASE("a fetcher stopped mid-download continues where it was", "[swarm]") {
    // stop() saves resume data; a new session on the same state directory
    // downloads only what was missing.
    TempDir dir;
    make_bundle(dir / "src", bundle_size);
    boost::asio::io_context io;
    auto seed = start_node(io, "127.0.8.1", dir / "seed", [](net::SwarmConfig& c) { c.upload_limit = 1'500'000; });
    auto id = seed->swarm->seed(dir / "src");
    REQUIRE(id);
    auto fetcher = start_node(io, "127.0.8.2", dir / "fetch");
    REQUIRE(fetcher->swarm->fetch(*id, dir / "staging", fetch_from({seed->endpoint()})));
    REQUIRE(run_until(
        io,
        [&] {
            auto it = fetcher->progress.find(*id);
            return it != fetcher->progress.end() && it->second.bytes_done * 10 >= bundle_size * 4;
        },
        15s));
    fetcher.reset();

    const std::uint64_t kept = resumed_bytes(dir / "fetch", *id);
    CHECK(kept * 10 >= bundle_size * 3);
    CHECK(kept < bundle_size);
    const std::uint64_t downloaded = refetch(io, dir / "fetch", dir / "staging", *seed, *id, "127.0.8.3");
    WARN("resume data held " << kept << " bytes; the restarted fetcher downloaded " << downloaded << " of "
                             << bundle_size);
    // Only the missing part again (plus pieces in flight at the stop).
    CHECK(downloaded <= bundle_size - kept + 512 * 1024);
    CHECK(snapshot_tree(dir / "staging") == snapshot_tree(dir / "src"));
}

TEST_CASE("a fetcher killed with SIGKILL resumes from its periodic resume data", "[swarm]") {
    // No stop(), no destructor: only the resume data saved every 300 ms
    // survives, and the next process continues from it.
    TempDir dir;
    make_bundle(dir / "src", bundle_size);
    int command[2];
    REQUIRE(::pipe(command) == 0);
    // Fork before this process starts any libtorrent thread.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(command[1]);
        run_doomed_fetcher(command[0], dir / "fetch", dir / "staging");
    }
    ::close(command[0]);
    // Whatever happens below, the child does not outlive the test.
    struct Reaper {
        pid_t pid;
        ~Reaper() {
            if (pid <= 0) return;  // never kill(-1, ...): that signals every process we own
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    } reaper{child};

    boost::asio::io_context io;
    auto seed = start_node(io, "127.0.8.11", dir / "seed", [](net::SwarmConfig& c) { c.upload_limit = 1'000'000; });
    auto id = seed->swarm->seed(dir / "src");
    REQUIRE(id);
    const std::string line = net::to_string(seed->endpoint()) + " " + rollout::to_hex(*id) + "\n";
    REQUIRE(::write(command[1], line.data(), line.size()) == static_cast<ssize_t>(line.size()));
    ::close(command[1]);

    // Kill once the child has about half, and a few resume periods passed.
    REQUIRE(run_until(
        io,
        [&] {
            auto it = seed->progress.find(*id);
            return it != seed->progress.end() && it->second.uploaded * 2 >= bundle_size;
        },
        20s));
    run_for(io, 800ms);
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    reaper.pid = 0;
    CHECK(WIFSIGNALED(status));

    const std::uint64_t kept = resumed_bytes(dir / "fetch", *id);
    CHECK(kept * 10 >= bundle_size * 3);
    const std::uint64_t downloaded = refetch(io, dir / "fetch", dir / "staging", *seed, *id, "127.0.8.13");
    WARN("after SIGKILL, resume data held " << kept << " bytes; the new process downloaded " << downloaded << " of "
                                            << bundle_size);
    CHECK(downloaded <= bundle_size - kept + 1024 * 1024);
    CHECK(snapshot_tree(dir / "staging") == snapshot_tree(dir / "src"));
}
