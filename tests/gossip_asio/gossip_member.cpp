// One gossip member on the real transport, for the multi-process tests: runs a
// Node on a 127.0.0.x address and reports membership and record events as lines on stdout.
//
//   gossip_member --index N --bind IP:PORT [--join IP:PORT]... [--fleet-key ID:HEX]
//                 [--probe-ms 100] [--lifetime-s 120]
// stdin: "publish ROLLOUT VERSION [BUNDLES]", "count", "stats", "leave", "quit" (EOF quits too).
// stdout: "ready ADDR ID", "joined ok|failed MSG", "member ID STATE ADDR",
//         "record TYPE ID VERSION", "published ...", "count N", "stats ...", "error MSG".
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <unistd.h>

#include "common/hex.hpp"
#include "member_identity.hpp"
#include "net/gossip/asio/asio_address.hpp"
#include "net/gossip/asio/asio_clock.hpp"
#include "net/gossip/asio/udp_tcp_transport.hpp"
#include "net/gossip/node.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;
using namespace patchwave::net::gossip::asio_impl;

namespace {

struct Options {
    std::size_t index = 0;
    Address bind;
    std::vector<Address> join;
    std::optional<FleetKey> fleet_key;
    int probe_ms = 100;
    int lifetime_s = 120;
};

// Lines go out whole and at once: the test reads them through a pipe as they happen.
void say(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

Result<Options> parse_options(int argc, char** argv) {
    Options options;
    bool have_bind = false;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) return fail(Errc::invalid_argument, flag + " needs a value");
        const std::string value = argv[++i];
        if (flag == "--index") {
            options.index = std::stoul(value);
        } else if (flag == "--bind") {
            auto address = parse_address(value, true);
            if (!address) return std::unexpected(address.error());
            options.bind = *address;
            have_bind = true;
        } else if (flag == "--join") {
            auto address = parse_address(value);
            if (!address) return std::unexpected(address.error());
            options.join.push_back(*address);
        } else if (flag == "--fleet-key") {
            auto key = parse_fleet_key(value);
            if (!key) return std::unexpected(key.error());
            options.fleet_key = *key;
        } else if (flag == "--probe-ms") {
            options.probe_ms = std::stoi(value);
        } else if (flag == "--lifetime-s") {
            options.lifetime_s = std::stoi(value);
        } else {
            return fail(Errc::invalid_argument, "unknown flag " + flag);
        }
    }
    if (!have_bind) return fail(Errc::invalid_argument, "--bind is required");
    if (options.probe_ms < 20 || options.lifetime_s < 1) return fail(Errc::invalid_argument, "bad timing");
    return options;
}

/// Test timing: everything scaled from the probe interval so a 20-member
/// fleet detects a death in about a second and repairs missed gossip within two.
NodeConfig test_config(const Options& options, Bytes certificate) {
    using std::chrono::milliseconds;
    NodeConfig config;
    config.certificate = std::move(certificate);
    config.seed = 1000 + options.index;
    config.probe_interval = milliseconds(options.probe_ms);
    config.probe_timeout = milliseconds(options.probe_ms * 2 / 5);
    config.gossip_interval = milliseconds(options.probe_ms / 2);
    config.push_pull_interval = milliseconds(options.probe_ms * 20);
    config.record_sync_interval = milliseconds(options.probe_ms * 10);
    config.reconnect_interval = milliseconds(options.probe_ms * 10);
    config.gossip_to_dead = milliseconds(options.probe_ms * 100);
    config.dead_retention = milliseconds(options.probe_ms * 600);
    config.stream_timeout = milliseconds(options.probe_ms * 20);
    return config;
}

class MemberProgram {
public:
    MemberProgram(boost::asio::io_context& io, Options options)
        : io_(io), options_(std::move(options)), clock_(io), input_(io) {}

    Status run() {
        boost::system::error_code ec;
        input_.assign(::dup(STDIN_FILENO), ec);
        if (ec) return fail(Errc::io, "stdin: " + ec.message());
        std::shared_ptr<FleetKeyring> keyring;
        if (options_.fleet_key) {
            auto created = FleetKeyring::create(*options_.fleet_key);
            if (!created) return std::unexpected(created.error());
            keyring = *created;
        }
        TransportConfig transport_config;
        transport_config.bind = options_.bind;
        transport_config.keyring = keyring;
        auto transport = UdpTcpTransport::open(io_, transport_config);
        if (!transport) return std::unexpected(transport.error());
        transport_ = std::move(*transport);
        verifier_ = testing::member_verifier(trust_);
        auto node = Node::create(test_config(options_, testing::member_certificate(trust_, options_.index)),
                                 *transport_, clock_, *verifier_);
        if (!node) return std::unexpected(node.error());
        node_ = std::move(*node);
        node_->on_member = [](const MemberEvent& event) {
            say("member " + to_hex(event.id) + " " + std::string(to_string(event.state)) + " "
                + to_string(event.address));
        };
        node_->on_record = [](const RecordPtr& record) {
            say("record " + std::string(to_string(record->header.key.type)) + " " + record->header.key.id + " "
                + std::to_string(record->header.version));
        };
        say("ready " + to_string(transport_->local_address()) + " " + to_hex(node_->id()));
        if (options_.join.empty()) {
            node_->start();
        } else {
            node_->join(options_.join, [](Status status) {
                say(status ? std::string("joined ok") : "joined failed " + status.error().message());
            });
        }
        read_command();
        return {};
    }

    void shutdown() {
        if (node_) node_->stop();
        node_.reset();
        transport_.reset();
        io_.stop();
    }

private:
    void read_command() {
        boost::asio::async_read_until(input_, line_, '\n', [this](const boost::system::error_code& ec, std::size_t) {
            if (ec) {
                shutdown();  // EOF: the test that started us is gone
                return;
            }
            std::istream stream(&line_);
            std::string line;
            std::getline(stream, line);
            handle(line);
            if (node_) read_command();
        });
    }

    void handle(const std::string& line) {
        std::istringstream words(line);
        std::string command;
        words >> command;
        if (command == "publish") {
            std::string rollout_id;
            std::uint64_t version = 0;
            std::size_t bundles = 2;
            words >> rollout_id >> version >> bundles;
            auto status = node_->publish(testing::manifest_header(rollout_id, version),
                                         testing::manifest_envelope(trust_, rollout_id, version, bundles));
            say(status ? "published " + rollout_id + " " + std::to_string(version)
                       : "error " + status.error().message());
        } else if (command == "count") {
            say("count " + std::to_string(node_->members().live_count()));
        } else if (command == "stats") {
            const TransportStats& t = transport_->stats();
            const NodeStats& n = node_->stats();
            say("stats datagrams_sent " + std::to_string(t.datagrams_sent) + " datagrams_received "
                + std::to_string(t.datagrams_received) + " unauthenticated "
                + std::to_string(t.datagrams_unauthenticated + t.inbound_unauthenticated) + " exchanges "
                + std::to_string(t.exchanges_started) + " exchanges_failed " + std::to_string(t.exchanges_failed)
                + " malformed " + std::to_string(n.malformed) + " suspicions " + std::to_string(n.suspicions));
        } else if (command == "leave") {
            node_->leave();
            say("left");
        } else if (command == "quit") {
            shutdown();
        } else {
            say("error unknown command " + command);
        }
    }

    boost::asio::io_context& io_;
    Options options_;
    rollout::testing::TestTrust trust_;
    AsioClock clock_;
    boost::asio::posix::stream_descriptor input_;
    boost::asio::streambuf line_;
    std::unique_ptr<UdpTcpTransport> transport_;
    std::unique_ptr<RolloutVerifier> verifier_;
    std::unique_ptr<Node> node_;
};

}  // namespace

int main(int argc, char** argv) try {
    auto options = parse_options(argc, argv);
    if (!options) {
        std::fprintf(stderr, "gossip_member: %s\n", options.error().message().c_str());
        return 2;
    }
    boost::asio::io_context io;
    MemberProgram member(io, *options);
    boost::asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code&, int) { member.shutdown(); });
    // A member never outlives its test by much, even if the test forgot it.
    boost::asio::steady_timer lifetime(io, std::chrono::seconds(options->lifetime_s));
    lifetime.async_wait([&](const boost::system::error_code& wait_ec) {
        if (!wait_ec) member.shutdown();
    });
    if (auto status = member.run(); !status) {
        say("error " + status.error().message());
        return 1;
    }
    io.run();
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "gossip_member: %s\n", e.what());
    return 1;
}
