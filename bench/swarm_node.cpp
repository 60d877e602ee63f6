// One host of the swarm benchmark: `seed` serves a bundle directory and prints
// its id; `fetch` downloads a bundle by id and keeps seeding until signalled.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "common/file_io.hpp"
#include "common/hex.hpp"
#include "common/logging.hpp"
#include "net/bundle_torrent.hpp"
#include "net/swarm.hpp"

namespace pw = patchwave;
namespace net = patchwave::net;

namespace {

struct Options {
    std::string mode;
    std::string listen;
    std::string directory;
    std::string id;
    std::vector<std::string> peers;
    std::string staging;
    std::string state;
    std::string ready_file;
    bool super_seed = false;
    bool trace = false;
    std::string torrent_out;
    std::string torrent_in;
    bool hold = false;
    std::string joined_file;
};

int run(const Options& options) {
    auto endpoint = net::parse_endpoint(options.listen);
    if (!endpoint) {
        std::cerr << "error: --listen: " << endpoint.error().message() << "\n";
        return 2;
    }
    std::vector<net::Endpoint> peers;
    for (const auto& text : options.peers) {
        auto peer = net::parse_endpoint(text);
        if (!peer) {
            std::cerr << "error: --peer: " << peer.error().message() << "\n";
            return 2;
        }
        if (*peer != *endpoint) peers.push_back(*peer);
    }

    boost::asio::io_context io;
    const auto started = std::chrono::steady_clock::now();
    // Readiness is timed from the release when the fetch was held.
    auto started_open = started;
    int exit_code = 0;
    net::SwarmConfig config;
    config.listen_address = endpoint->address().to_string();
    config.listen_port = endpoint->port();
    config.state_dir = options.state;
    net::SwarmEvents events;
    bool joined = false;
    const int expected_peers = static_cast<int>(peers.size());
    events.progress = [&](const net::BundleProgress& p) {
        // The benchmark opens the wave once every held fetcher is connected
        // to all the others (each connection counts once, whoever opened it).
        if (!joined && !options.joined_file.empty() && p.peers >= expected_peers) {
            joined = true;
            (void)pw::write_file_atomic(options.joined_file, "joined\n", 0644);
        }
        if (options.trace) {
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            std::fprintf(stderr, "t=%.2f %s done=%llu down=%llu/s up=%llu/s peers=%d uploaded=%llu\n", seconds,
                         std::string(net::to_string(p.phase)).c_str(), static_cast<unsigned long long>(p.bytes_done),
                         static_cast<unsigned long long>(p.download_rate),
                         static_cast<unsigned long long>(p.upload_rate), p.peers,
                         static_cast<unsigned long long>(p.uploaded));
        }
    };
    events.ready = [&](const pw::rollout::BundleId&, const std::filesystem::path&) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_open).count();
        std::fprintf(stderr, "ready after %.2f s\n", seconds);
        if (!options.ready_file.empty()) {
            // The benchmark polls for this file; it must appear whole.
            (void)pw::write_file_atomic(options.ready_file, std::to_string(seconds) + "\n", 0644);
        }
    };
    events.failed = [&](const pw::rollout::BundleId&, const pw::Error& error) {
        std::cerr << "error: " << error.message() << "\n";
        exit_code = 1;
        io.stop();
    };
    auto swarm = net::Swarm::start(io.get_executor(), config, events);
    if (!swarm) {
        std::cerr << "error: " << swarm.error().message() << "\n";
        return pw::exit_code_for(swarm.error());
    }

    pw::rollout::BundleId id{};
    if (options.mode == "seed") {
        net::SeedOptions seed;
        seed.super_seed = options.super_seed;
        seed.pinned = true;
        if (!options.torrent_out.empty()) {
            // Hash here, so the fetchers can be handed the torrent (piece layers included).
            auto built = net::build_bundle_torrent(options.directory);
            if (!built) {
                std::cerr << "error: " << built.error().message() << "\n";
                return pw::exit_code_for(built.error());
            }
            if (auto written = pw::write_file_atomic(options.torrent_out, built->torrent, 0644); !written) {
                std::cerr << "error: --torrent-out: " << written.error().message() << "\n";
                return 1;
            }
            seed.torrent = built->torrent;
        }
        auto seeded = (*swarm)->seed(options.directory, seed);
        if (!seeded) {
            std::cerr << "error: " << seeded.error().message() << "\n";
            return pw::exit_code_for(seeded.error());
        }
        id = *seeded;
        std::cout << pw::to_hex(id) << std::endl;
    } else {
        auto parsed = pw::from_hex_fixed<32>(options.id);
        if (!parsed) {
            std::cerr << "error: --id: " << parsed.error().message() << "\n";
            return 2;
        }
        id = *parsed;
        net::FetchOptions fetch;
        fetch.peers = peers;
        fetch.hold = options.hold;
        if (!options.torrent_in.empty()) {
            auto torrent = pw::read_file(options.torrent_in, 64ull << 20);
            if (!torrent) {
                std::cerr << "error: --torrent: " << torrent.error().message() << "\n";
                return 2;
            }
            fetch.torrent = std::move(*torrent);
        }
        if (auto ok = (*swarm)->fetch(id, options.staging, fetch); !ok) {
            std::cerr << "error: " << ok.error().message() << "\n";
            return pw::exit_code_for(ok.error());
        }
    }

    // SIGUSR1 opens the wave for a held fetch: timing starts here.
    boost::asio::signal_set open_signal(io, SIGUSR1);
    open_signal.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        started_open = std::chrono::steady_clock::now();
        if (auto released = (*swarm)->release(id); !released) {
            std::cerr << "error: " << released.error().message() << "\n";
            exit_code = 1;
            io.stop();
        }
    });
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
        if (auto progress = (*swarm)->progress(id)) {
            std::fprintf(stderr, "uploaded %llu downloaded %llu hash_failures %d\n",
                         static_cast<unsigned long long>(progress->uploaded),
                         static_cast<unsigned long long>(progress->downloaded), progress->hash_failures);
        }
        (*swarm)->stop();
        io.stop();
    });
    io.run();
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    CLI::App app{"Patchwave swarm benchmark host"};
    app.require_subcommand(1);
    auto* seed = app.add_subcommand("seed", "seed a bundle directory and print its id");
    auto* fetch = app.add_subcommand("fetch", "fetch a bundle by id, then keep seeding until signalled");
    for (auto* command : {seed, fetch}) {
        command->add_option("--listen", options.listen, "address:port to listen on")->required();
        command->add_option("--state", options.state, "state directory (resume data)")->required();
        command->add_option("--peer", options.peers, "a peer address:port (repeatable)");
        command->add_flag("--trace", options.trace, "print every progress event to stderr");
    }
    seed->add_option("--dir", options.directory, "the bundle directory")->required();
    seed->add_option("--torrent-out", options.torrent_out, "write the bundle's .torrent here");
    fetch->add_option("--torrent", options.torrent_in, "the bundle's .torrent (else metadata comes from peers)");
    seed->add_flag("--super-seed", options.super_seed, "initial seeding (BEP 16)");
    fetch->add_option("--id", options.id, "the bundle id (64 hex)")->required();
    fetch->add_option("--staging", options.staging, "where the bundle lands")->required();
    fetch->add_flag("--hold", options.hold, "join the swarm but download only after SIGUSR1");
    fetch->add_option("--joined-file", options.joined_file, "written once connected to every --peer");
    fetch->add_option("--ready-file", options.ready_file, "written when the bundle is ready");
    CLI11_PARSE(app, argc, argv);
    options.mode = seed->parsed() ? "seed" : "fetch";
    // stdout carries the bundle id; logs go to stderr.
    if (auto ok = pw::setup_logging("swarm_node", options.trace ? "info" : "warn"); !ok) return 1;
    return run(options);
}
