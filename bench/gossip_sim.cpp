// Gossip benchmark driver: runs the deterministic simulator for one fleet
// size and loss rate and prints convergence times and traffic as one Markdown row.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "net/gossip/sim/cluster.hpp"

namespace gossip = patchwave::net::gossip;
namespace sim = patchwave::net::gossip::sim;
using gossip::Micros;

namespace {

struct Options {
    std::size_t members = 1000;
    double loss = 0.0;
    std::uint64_t seed = 1;
    std::size_t record_size = 400;  // a control record's envelope is about this big
    std::size_t status_size = 600;
    double steady_seconds = 60;
    double limit_seconds = 120;
    bool header = false;
    bool skip_status = false;
};

std::string kib_peak_rss() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            std::size_t begin = line.find_first_not_of(" \t", 6);
            return begin == std::string::npos ? "?" : line.substr(begin);
        }
    }
    return "?";
}

double seconds(Micros span) {
    return static_cast<double>(span.count()) / 1e6;
}

std::string format_seconds(std::optional<Micros> span) {
    if (!span) return "not reached";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f s", seconds(*span));
    return buffer;
}

/// Times at which a growing count crossed 99.9% and 100% of a target.
struct Crossings {
    std::size_t target = 0;
    std::size_t count = 0;
    gossip::Instant start{};
    std::optional<Micros> at_999;
    std::optional<Micros> at_all;

    void add(gossip::Instant now) {
        ++count;
        // 99.9% rounded up: of 100 members that is all 100, of 10,000 it is 9,990.
        std::size_t need = (target * 999 + 999) / 1000;
        if (!at_999 && count >= need) at_999 = now - start;
        if (!at_all && count >= target) at_all = now - start;
    }
};

int run(const Options& options) {
    sim::ClusterOptions cluster_options;
    cluster_options.members = options.members;
    cluster_options.seed = options.seed;
    cluster_options.collectors = 1;  // member 0 is the orchestrator
    cluster_options.network.loss = options.loss;
    auto made = sim::Cluster::create(cluster_options);
    if (!made) {
        std::cerr << "gossip_sim: " << made.error().message() << "\n";
        return 1;
    }
    sim::Cluster& cluster = **made;
    sim::Network& network = cluster.network();
    const std::size_t n = cluster.size();

    // Warm up: every member running, membership settled, probes flowing.
    network.run_for(std::chrono::seconds(5));

    // 1. Steady state: traffic of a quiet fleet (probes, acks, push-pull).
    const std::uint64_t bytes_before = cluster.bytes_sent();
    network.run_for(Micros(static_cast<std::int64_t>(options.steady_seconds * 1e6)));
    const double per_member_per_second =
        static_cast<double>(cluster.bytes_sent() - bytes_before) / static_cast<double>(n) / options.steady_seconds;

    // 2. A fleet record (a control record) published by the orchestrator.
    Crossings spread;
    spread.target = n;
    spread.start = network.now();
    gossip::RecordHeader header{{gossip::RecordType::control, gossip::MemberId{}, "bench-rollout"}, 1};
    for (std::size_t i = 0; i < n; ++i) {
        cluster.node(i)->on_record = [&](const gossip::RecordPtr& record) {
            if (record->header.key == header.key) spread.add(network.now());
        };
    }
    if (auto status = cluster.node(0)->publish(header, sim::fake_record(header, options.record_size)); !status) {
        std::cerr << "gossip_sim: publish: " << status.error().message() << "\n";
        return 1;
    }
    const Micros limit(static_cast<std::int64_t>(options.limit_seconds * 1e6));
    network.run_until_true([&] { return spread.at_all.has_value(); }, std::chrono::milliseconds(10), limit);

    // 3. A wave finishes: every member publishes a new status at once; how
    // long until the orchestrator holds all of them.
    Crossings status;
    status.target = n - 1;
    if (!options.skip_status) {
        status.start = network.now();
        cluster.node(0)->on_record = [&](const gossip::RecordPtr& record) {
            if (record->header.key.type == gossip::RecordType::status && record->header.key.origin != cluster.id(0)) {
                status.add(network.now());
            }
        };
        for (std::size_t i = 1; i < n; ++i) {
            cluster.node(i)->on_record = nullptr;
            gossip::RecordHeader status_header{{gossip::RecordType::status, cluster.id(i), ""}, 1};
            auto published =
                cluster.node(i)->publish(status_header, sim::fake_record(status_header, options.status_size));
            if (!published) {
                std::cerr << "gossip_sim: status: " << published.error().message() << "\n";
                return 1;
            }
        }
        network.run_until_true([&] { return status.at_all.has_value(); }, std::chrono::milliseconds(10), limit);
    }

    std::uint64_t false_dead = 0;
    for (std::size_t i = 0; i < n; ++i)
        false_dead += cluster.seeing(i, gossip::MemberState::dead) > 0 ? 1 : 0;

    std::printf("| %zu | %.0f%% | %s | %s | %.0f | %s | %s | %llu | %s |\n", n, options.loss * 100,
                format_seconds(spread.at_999).c_str(), format_seconds(spread.at_all).c_str(), per_member_per_second,
                options.skip_status ? "-" : format_seconds(status.at_999).c_str(),
                options.skip_status ? "-" : format_seconds(status.at_all).c_str(),
                static_cast<unsigned long long>(false_dead), kib_peak_rss().c_str());
    std::fflush(stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    CLI::App app{"Gossip simulator benchmark: one fleet size and loss rate, one Markdown table row"};
    app.add_option("--members", options.members, "fleet size")->check(CLI::Range(2, 1'000'000));
    app.add_option("--loss", options.loss, "datagram loss probability, 0-1")->check(CLI::Range(0.0, 0.9));
    app.add_option("--seed", options.seed, "simulation seed");
    app.add_option("--record-size", options.record_size, "filler bytes in the fleet record");
    app.add_option("--status-size", options.status_size, "filler bytes in each status record");
    app.add_option("--steady-seconds", options.steady_seconds, "quiet window measured for traffic")
        ->check(CLI::Range(1.0, 3600.0));
    app.add_option("--limit-seconds", options.limit_seconds, "simulated time allowed per phase")
        ->check(CLI::Range(1.0, 3600.0));
    app.add_flag("--header", options.header, "print the table header first");
    app.add_flag("--skip-status", options.skip_status, "skip the status wave");
    CLI11_PARSE(app, argc, argv);
    if (options.header) {
        std::printf(
            "| members | loss | record at 99.9%% | record at 100%% | steady bytes/member/s | "
            "statuses at orchestrator 99.9%% | 100%% | members seen dead | peak RSS |\n");
        std::printf("|---|---|---|---|---|---|---|---|---|\n");
    }
    try {
        return run(options);
    } catch (const std::exception& error) {
        // The backstop: the library reports errors as values; this catches the rest (bad_alloc).
        std::cerr << "gossip_sim: " << error.what() << "\n";
        return 1;
    }
}
