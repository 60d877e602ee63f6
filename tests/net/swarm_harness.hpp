// Test support for multi-session swarm tests: an event loop that fails fast
// instead of hanging, sessions on their own 127.0.x.y, and bundle payloads.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/file_io.hpp"
#include "net/swarm.hpp"

namespace patchwave::testing {

namespace fs = std::filesystem;

/// Runs `io` until `done()` holds or `timeout` passes; false on timeout. The
/// loop sleeps only inside io_context::run_one_for, woken by swarm events.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        io.run_one_for(deadline - now);
        if (io.stopped()) io.restart();
    }
    return true;
}

/// Runs `io` for `duration`, delivering whatever events arrive.
inline void run_for(boost::asio::io_context& io, std::chrono::milliseconds duration) {
    (void)run_until(
        io, [] { return false; }, duration);
}

/// Writes `size` pseudo-random bytes (fixed by `seed`) to `path`.
inline void write_random_file(const fs::path& path, std::size_t size, std::uint64_t seed) {
    fs::create_directories(path.parent_path());
    std::mt19937_64 rng(seed);
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        const std::uint64_t word = rng();
        for (std::size_t j = 0; j < 8 && i + j < size; ++j)
            bytes[i + j] = static_cast<char>(word >> (8 * j));
    }
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const fs::path& path) {
    auto bytes = read_file(path, 1ull << 30);
    if (!bytes) throw std::runtime_error(bytes.error().message());
    return *bytes;
}

/// Every regular file under `root` by relative path, with its bytes.
inline std::map<std::string, std::string> snapshot_tree(const fs::path& root) {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file())
            files[entry.path().lexically_relative(root).generic_string()] = read_bytes(entry.path());
    }
    return files;
}

/// A bundle directory of several files in nested folders, one of them empty.
inline void make_bundle(const fs::path& root, std::size_t bytes, std::uint64_t seed = 1) {
    write_random_file(root / "bundle.toml", 300, seed);
    write_random_file(root / "payload" / "big.bin", bytes - bytes / 4 - 300, seed + 1);
    write_random_file(root / "payload" / "lib" / "small.so", bytes / 4, seed + 2);
    fs::create_directories(root / "scripts");
    std::ofstream(root / "scripts" / "empty.marker").close();
}

/// One swarm session plus everything its events reported.
struct Node {
    std::unique_ptr<net::Swarm> swarm;
    std::map<rollout::BundleId, fs::path> ready;
    std::map<rollout::BundleId, Error> failed;
    std::map<rollout::BundleId, net::BundleProgress> progress;
    std::vector<rollout::BundleId> evicted;
    std::optional<std::chrono::steady_clock::time_point> ready_at;

    net::Endpoint endpoint() const { return swarm->endpoint(); }
    bool is_ready(const rollout::BundleId& id) const { return ready.contains(id); }
};

/// Starts a node listening on `address`, port chosen by the OS, state under
/// `state_dir`. `adjust` edits the config first. Fails the test on error.
inline std::unique_ptr<Node> start_node(boost::asio::io_context& io, const std::string& address,
                                        const fs::path& state_dir,
                                        const std::function<void(net::SwarmConfig&)>& adjust = {}) {
    auto node = std::make_unique<Node>();
    net::SwarmConfig config;
    config.listen_address = address;
    config.listen_port = 0;
    config.state_dir = state_dir;
    config.progress_interval = std::chrono::milliseconds(200);
    if (adjust) adjust(config);
    Node* raw = node.get();
    net::SwarmEvents events;
    events.progress = [raw](const net::BundleProgress& p) { raw->progress[p.id] = p; };
    events.ready = [raw](const rollout::BundleId& id, const fs::path& dir) {
        raw->ready[id] = dir;
        raw->ready_at = std::chrono::steady_clock::now();
    };
    events.failed = [raw](const rollout::BundleId& id, const Error& error) { raw->failed.insert_or_assign(id, error); };
    events.evicted = [raw](const rollout::BundleId& id) { raw->evicted.push_back(id); };
    auto swarm = net::Swarm::start(io.get_executor(), config, events);
    if (!swarm) throw std::runtime_error("starting node on " + address + ": " + swarm.error().message());
    node->swarm = std::move(*swarm);
    return node;
}

}  // namespace patchwave::testing

namespace patchwave::testing {

inline net::FetchOptions fetch_from(std::vector<net::Endpoint> peers, std::string torrent = {}) {
    net::FetchOptions options;
    options.peers = std::move(peers);
    options.torrent = std::move(torrent);
    return options;
}

inline net::SeedOptions seed_with(std::string torrent, bool pinned = false) {
    net::SeedOptions options;
    options.torrent = std::move(torrent);
    options.pinned = pinned;
    return options;
}

}  // namespace patchwave::testing
