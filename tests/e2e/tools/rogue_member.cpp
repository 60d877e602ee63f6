// Test-only: an admitted gossip member gone bad. It joins with the real
// certificate of an enrolled host over the real transport, but its own
// verifier accepts any record, so it stores and spreads forged ones: every
// other member must refuse them (and report it).
//
//   rogue_member --root FILE --certificate FILE --bind IP:PORT --join IP:PORT...
//                [--fleet-key FILE] [--sync-ms 500] [--lifetime-s 120] ENVELOPE[@VERSION]...
// Each ENVELOPE file is published under the gossip header its (unverified)
// body claims; @VERSION claims another version (a replay relabelled newer).
// Those on the command line go out once joined; stdin lines "publish
// ENVELOPE[@VERSION]" add more (one record per key is held: a later version
// replaces an earlier one), "quit" or EOF ends it.
// stdout: "joined ok|failed MSG", "published HEADER", "error MSG". Exit 0 on
// SIGTERM/SIGINT/EOF or at the end of its lifetime, 1 on failure, 2 on usage.
#include <csignal>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <sstream>
#include <unistd.h>

#include "agent/trust_state.hpp"
#include "common/file_io.hpp"
#include "net/fleet/fleet_member.hpp"
#include "net/gossip/asio/asio_address.hpp"
#include "net/gossip/asio/asio_clock.hpp"
#include "net/gossip/asio/fleet_key.hpp"
#include "net/gossip/asio/udp_tcp_transport.hpp"
#include "net/gossip/node.hpp"
#include "net/gossip/rollout_verifier.hpp"

using namespace patchwave;
using namespace patchwave::net::gossip;
using namespace patchwave::net::gossip::asio_impl;

namespace {

struct Forged {
    std::string file;
    std::optional<std::uint64_t> version;
};

struct Options {
    std::string root;
    std::string certificate;
    std::string fleet_key;
    Address bind;
    std::vector<Address> join;
    int sync_ms = 500;
    int lifetime_s = 120;
    std::vector<Forged> records;
};

void say(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

Timestamp wall_clock() {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

Result<Forged> parse_forged(const std::string& arg) {
    Forged forged{arg, std::nullopt};
    if (const auto at = arg.rfind('@'); at != std::string::npos) {
        forged.file = arg.substr(0, at);
        try {
            forged.version = std::stoull(arg.substr(at + 1));
        } catch (const std::exception&) {
            return fail(Errc::invalid_argument, arg + ": the version after @ is not a number");
        }
    }
    return forged;
}

Result<Options> parse_options(int argc, char** argv) {
    Options options;
    bool have_bind = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (!arg.starts_with("--")) {
            auto forged = parse_forged(arg);
            if (!forged) return std::unexpected(forged.error());
            options.records.push_back(std::move(*forged));
            continue;
        }
        if (i + 1 >= argc) return fail(Errc::invalid_argument, arg + " needs a value");
        const std::string value = argv[++i];
        if (arg == "--root") {
            options.root = value;
        } else if (arg == "--certificate") {
            options.certificate = value;
        } else if (arg == "--fleet-key") {
            options.fleet_key = value;
        } else if (arg == "--bind" || arg == "--join") {
            auto address = parse_address(value, arg == "--bind");
            if (!address) return std::unexpected(address.error().with_context(arg));
            if (arg == "--bind") {
                options.bind = *address;
                have_bind = true;
            } else {
                options.join.push_back(*address);
            }
        } else if (arg == "--sync-ms" || arg == "--lifetime-s") {
            try {
                (arg == "--sync-ms" ? options.sync_ms : options.lifetime_s) = std::stoi(value);
            } catch (const std::exception&) {
                return fail(Errc::invalid_argument, arg + ": \"" + value + "\" is not a number");
            }
        } else {
            return fail(Errc::invalid_argument, "unknown flag " + arg);
        }
    }
    if (options.root.empty() || options.certificate.empty() || !have_bind || options.join.empty())
        return fail(Errc::invalid_argument, "--root, --certificate, --bind and --join are required");
    if (options.sync_ms < 50 || options.lifetime_s < 1) return fail(Errc::invalid_argument, "bad timing");
    return options;
}

/// Admits members like everyone else (it must learn who they are), but
/// takes any record: the compromised part.
class AcceptAnything final : public RecordVerifier {
public:
    explicit AcceptAnything(crypto::TrustRoot root) : real_(std::move(root), wall_clock) {}
    Result<MemberIdentity> admit_member(ByteView certificate) override { return real_.admit_member(certificate); }
    Bytes certificate(const MemberId& id) const override { return real_.certificate(id); }
    void forget_member(const MemberId& id) override { real_.forget_member(id); }
    Status verify_record(const RecordHeader&, ByteView, std::uint64_t) override { return {}; }

private:
    RolloutVerifier real_;
};

class Rogue {
public:
    Rogue(boost::asio::io_context& io, Options options)
        : io_(io), options_(std::move(options)), clock_(io), input_(io) {}

    Status run() {
        boost::system::error_code ec;
        input_.assign(::dup(STDIN_FILENO), ec);
        if (ec) return fail(Errc::io, "stdin: " + ec.message());
        auto root = agent::load_trust_root(options_.root, std::filesystem::path(options_.root).parent_path() / "none",
                                           wall_clock());
        if (!root) return std::unexpected(root.error());
        auto certificate = read_file(options_.certificate, agent::kMaxDocumentFile);
        if (!certificate) return std::unexpected(certificate.error());
        TransportConfig transport_config;
        transport_config.bind = options_.bind;
        if (!options_.fleet_key.empty()) {
            auto key = load_fleet_key(options_.fleet_key);
            if (!key) return std::unexpected(key.error());
            auto keyring = FleetKeyring::create(*key);
            if (!keyring) return std::unexpected(keyring.error());
            transport_config.keyring = *keyring;
        }
        auto transport = UdpTcpTransport::open(io_, transport_config);
        if (!transport) return std::unexpected(transport.error());
        transport_ = std::move(*transport);
        verifier_ = std::make_unique<AcceptAnything>(*root);

        using std::chrono::milliseconds;
        NodeConfig config;
        config.certificate = Bytes(certificate->begin(), certificate->end());
        config.seed = std::random_device{}();
        config.probe_interval = milliseconds(500);
        config.probe_timeout = milliseconds(250);
        config.gossip_interval = milliseconds(100);
        // Pushes its state (the forged headers among it) to a random member this
        // often; each receiver fetches what it does not hold and checks it.
        config.record_sync_interval = milliseconds(options_.sync_ms);
        config.push_pull_interval = milliseconds(options_.sync_ms * 4);
        auto node = Node::create(std::move(config), *transport_, clock_, *verifier_);
        if (!node) return std::unexpected(node.error());
        node_ = std::move(*node);
        node_->join(options_.join, [this](Status joined) {
            say(joined ? std::string("joined ok") : "joined failed " + joined.error().message());
            for (const auto& forged : options_.records) publish(forged);
            read_command();
        });
        return {};
    }

    void shutdown() {
        if (node_) {
            node_->leave();
            node_->stop();
        }
        node_.reset();
        transport_.reset();
        boost::system::error_code ignored;
        input_.close(ignored);
        io_.stop();
    }

private:
    void read_command() {
        boost::asio::async_read_until(input_, line_, '\n', [this](const boost::system::error_code& ec, std::size_t) {
            if (ec) {
                shutdown();  // EOF: whoever drove us is gone
                return;
            }
            std::istream stream(&line_);
            std::string line;
            std::getline(stream, line);
            std::istringstream words(line);
            std::string command;
            std::string argument;
            words >> command >> argument;
            if (command == "quit") {
                shutdown();
                return;
            }
            if (command == "publish" && !argument.empty()) {
                auto forged = parse_forged(argument);
                if (forged)
                    publish(*forged);
                else
                    say("error " + forged.error().message());
            } else if (!command.empty()) {
                say("error unknown command \"" + line + "\" (publish FILE[@VERSION], quit)");
            }
            if (node_) read_command();
        });
    }

    void publish(const Forged& forged) {
        auto bytes = read_file(forged.file, Record::kMaxEnvelopeSize);
        if (!bytes) {
            say("error " + bytes.error().message());
            return;
        }
        const Bytes envelope(bytes->begin(), bytes->end());
        auto header = net::record_header_of(envelope);
        if (!header) {
            say("error " + forged.file + ": " + header.error().message());
            return;
        }
        if (forged.version) header->version = *forged.version;
        auto published = node_->publish(*header, envelope);
        say(published ? "published " + to_string(*header)
                      : "error " + forged.file + ": " + published.error().message());
    }

    boost::asio::io_context& io_;
    Options options_;
    AsioClock clock_;
    boost::asio::posix::stream_descriptor input_;
    boost::asio::streambuf line_;
    std::unique_ptr<UdpTcpTransport> transport_;
    std::unique_ptr<AcceptAnything> verifier_;
    std::unique_ptr<Node> node_;
};

}  // namespace

int main(int argc, char** argv) try {
    auto options = parse_options(argc, argv);
    if (!options) {
        std::fprintf(stderr, "rogue_member: %s\n", options.error().message().c_str());
        return 2;
    }
    boost::asio::io_context io;
    Rogue rogue(io, *options);
    boost::asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code&, int) { rogue.shutdown(); });
    boost::asio::steady_timer lifetime(io, std::chrono::seconds(options->lifetime_s));
    lifetime.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) rogue.shutdown();
    });
    if (auto status = rogue.run(); !status) {
        say("error " + status.error().message());
        return 1;
    }
    io.run();
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "rogue_member: %s\n", e.what());
    return 1;
}
