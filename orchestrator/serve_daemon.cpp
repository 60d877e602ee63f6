#include "orchestrator/serve_daemon.hpp"

#include <cerrno>
#include <cstring>
#include <random>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/hex.hpp"
#include "orchestrator/serve_identity.hpp"
#include "orchestrator/serve_notify.hpp"
#include "orchestrator/status_store.hpp"

namespace patchwave::orchestrator {
namespace {

using std::chrono::milliseconds;

// Status records arriving together (a wave finishing) are folded in one
// database transaction and one gate run.
constexpr milliseconds kStatusDebounce{200};
// The fallback for CLI writes that did not reach the socket.
constexpr milliseconds kPollInterval{2000};
// A CLI command holds the home: try again soon, without blocking the loop.
constexpr milliseconds kBusyRetry{100};

}  // namespace

ServeDaemon::ServeDaemon(boost::asio::io_context& io, ServeOptions options)
    : io_(io), options_(std::move(options)), tick_timer_(io), poll_timer_(io), gate_timer_(io), health_timer_(io) {}

ServeDaemon::~ServeDaemon() {
    stop();
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<ServeDaemon>> ServeDaemon::start(boost::asio::io_context& io, ServeOptions options) {
    std::unique_ptr<ServeDaemon> daemon(new ServeDaemon(io, std::move(options)));
    if (auto opened = daemon->open(); !opened) return std::unexpected(opened.error());
    return daemon;
}

Status ServeDaemon::open() {
    const ServeConfig& config = options_.config;
    const auto& home_path = options_.home;
    // Checked first: a missing home should say "run init", not "cannot lock".
    auto home = Home::open(home_path, LockMode::exclusive);
    if (!home) return std::unexpected(home.error());

    const auto lock_path = home_path / "serve.lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return fail(Errc::io, "cannot open " + lock_path.string() + ": " + std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        return fail(Errc::state, "another patchwave serve is running for home " + home_path.string() + " (it holds "
                                     + lock_path.string() + ")");
    }

    const Timestamp start_time = now();
    auto identity = load_serve_identity(*home, start_time);
    if (!identity) return std::unexpected(identity.error());
    auto sequences = status_sequences(home->db());
    if (!sequences) return std::unexpected(sequences.error());
    status_sequences_ = std::move(*sequences);

    if (!config.hooks.command.empty() || !config.hooks.webhook.empty()) {
        auto hooks = HookRunner::start(config.hooks);
        if (!hooks) return std::unexpected(hooks.error().with_context("starting the event hooks"));
        hooks_ = std::move(*hooks);
    }
    events_ = std::make_unique<EventRecorder>(hooks_.get());
    if (auto loaded = events_->load(home->db()); !loaded) return loaded;

    std::error_code ec;
    const auto swarm_dir = home_path / "serve" / "swarm";
    std::filesystem::create_directories(swarm_dir, ec);
    if (ec) return fail(Errc::io, "cannot create " + swarm_dir.string() + ": " + ec.message());

    net::FleetMemberConfig fleet;
    const auto probe = std::chrono::duration_cast<std::chrono::microseconds>(config.probe_interval);
    fleet.node.probe_interval = probe;
    fleet.node.probe_timeout = probe / 2;
    fleet.node.seed = std::random_device{}();
    fleet.gossip_listen = config.gossip_listen;
    fleet.advertise = config.advertise;
    fleet.fleet_key_file = config.fleet_key;
    fleet.collector = true;
    fleet.swarm.listen_address = config.swarm_listen.host;
    fleet.swarm.listen_port = config.swarm_listen.port;
    fleet.swarm.state_dir = swarm_dir;
    root_published_ = identity->start_root.version;
    auto member = net::FleetMember::start(
        io_, std::move(fleet), identity->start_root,
        net::gossip::Bytes(identity->certificate_bytes.begin(), identity->certificate_bytes.end()), options_.clock);
    if (!member) return std::unexpected(member.error().with_context("starting the fleet member"));
    member_ = std::move(*member);
    std::weak_ptr<bool> alive = alive_;
    member_->on_record = [this, alive](const net::gossip::RecordPtr& record) {
        if (!alive.expired()) on_record(record);
    };
    member_->on_member = [this, alive](const net::gossip::MemberEvent& event) {
        if (alive.expired()) return;
        if (event.state == net::gossip::MemberState::alive || event.state == net::gossip::MemberState::suspect) {
            if (alive_members_.insert(event.id).second) {
                spdlog::info("member {} joined ({})", to_hex(event.id).substr(0, 12),
                             net::gossip::to_string(event.address));
            }
        } else if (alive_members_.erase(event.id) > 0) {
            spdlog::info("member {} is {}", to_hex(event.id).substr(0, 12), net::gossip::to_string(event.state));
        }
    };
    member_->on_root = [](const crypto::TrustRoot& root, net::gossip::ByteView) {
        spdlog::info("gossip now holds trust root v{}", root.version);
    };

    auto socket = net::LineSocketServer::open(io_, serve_socket_path(home_path),
                                    [this](const std::string& line) { return handle_request(line); });
    if (!socket) return std::unexpected(socket.error());
    socket_ = std::move(*socket);
    if (auto opened = open_http(); !opened) return opened;

    member_->join([](Status) {});
    spdlog::info("patchwave serve {} for home {}: gossip {}, swarm {}, trust root v{}",
                 to_hex(identity->key.id()).substr(0, 12), home_path.string(),
                 net::to_string(member_->gossip_address()), net::to_string(member_->swarm_endpoint()),
                 identity->start_root.version);
    // The home is released before the first tick opens it again.
    want_sync_ = want_gate_ = true;
    request_tick(milliseconds(0));
    schedule_poll();
    schedule_gate();
    schedule_health();
    return {};
}

void ServeDaemon::stop() {
    if (stopped_) return;
    stopped_ = true;
    *alive_ = false;
    tick_timer_.cancel();
    poll_timer_.cancel();
    gate_timer_.cancel();
    health_timer_.cancel();
    if (socket_) socket_->close();
    for (auto& server : http_) server->close();
    if (member_) member_->stop();
    hooks_.reset();
}

void ServeDaemon::request_tick(milliseconds delay) {
    if (stopped_) return;
    const auto when = std::chrono::steady_clock::now() + delay;
    if (tick_at_ && *tick_at_ <= when) return;  // an earlier tick covers this request
    tick_at_ = when;
    tick_timer_.expires_at(when);
    std::weak_ptr<bool> alive = alive_;
    tick_timer_.async_wait([this, alive](boost::system::error_code error) {
        if (error || alive.expired()) return;
        tick_at_.reset();
        tick();
    });
}

void ServeDaemon::tick() {
    auto home = Home::open(options_.home, LockMode::exclusive, /*wait=*/false);
    if (!home) {
        if (!home.error().is(Errc::timeout)) spdlog::error("{}", home.error().message());
        request_tick(home.error().is(Errc::timeout) ? kBusyRetry : kPollInterval);
        return;
    }
    if (!pending_.empty()) {
        if (auto flushed = flush_statuses(*home); !flushed) spdlog::error("{}", flushed.error().message());
    }
    auto print = fingerprint(*home);
    if (!print) {
        spdlog::error("{}", print.error().message());
    } else if (*print != fingerprint_) {
        fingerprint_ = *print;
        want_sync_ = true;
    }
    if (want_sync_) {
        want_sync_ = false;
        want_gate_ = true;
        if (auto synced = sync(*home); !synced) spdlog::error("{}", synced.error().message());
    }
    if (want_gate_) {
        want_gate_ = false;
        if (auto gated = run_gate(*home); !gated) spdlog::error("gate: {}", gated.error().message());
    }
}

Result<std::string> ServeDaemon::fingerprint(Home& home) {
    // Cheap: what a CLI write changes. Triage is included because a held
    // bundle is no longer seeded.
    auto query = home.db().prepare(
        "SELECT (SELECT coalesce(max(version), 0) FROM roots) || '/' || "
        "(SELECT count(*) || ':' || coalesce(max(enrolled), '') FROM hosts) || '/' || "
        "(SELECT count(*) || ':' || coalesce(sum(version), 0) FROM manifests) || '/' || "
        "(SELECT count(*) FROM controls) || '/' || "
        "(SELECT coalesce(group_concat(triage), '') FROM (SELECT triage FROM bundles ORDER BY id))");
    if (!query) return std::unexpected(query.error());
    auto row = query->step();
    if (!row) return std::unexpected(row.error());
    return query->column_text(0);
}

void ServeDaemon::on_record(const net::gossip::RecordPtr& record) {
    if (record->header.key.type != net::gossip::RecordType::status) return;
    // The node verified the signature against the member's certificate.
    auto envelope = crypto::Envelope::decode(record->envelope, net::gossip::Record::kMaxEnvelopeSize);
    if (!envelope) return;
    auto status = rollout::StatusRecord::parse_json(envelope->body);
    if (!status) {
        spdlog::warn("status record {} does not parse: {}", net::gossip::to_string(record->header),
                     status.error().message());
        return;
    }
    const std::string agent = rollout::to_hex(status->agent);
    auto& last = status_sequences_[agent];
    if (status->sequence <= last) {
        // A restart of the daemon hears the current record again; an agent
        // that lost its state starts over at 1 and is ignored until it passes.
        spdlog::debug("status of {} sequence {} is not above {}: ignored", agent.substr(0, 12), status->sequence, last);
        return;
    }
    last = status->sequence;
    pending_[agent] =
        PendingStatus{std::move(*status), std::string(record->envelope.begin(), record->envelope.end()), now()};
    request_tick(kStatusDebounce);
}

Status ServeDaemon::flush_statuses(Home& home) {
    auto transaction = Transaction::begin(home.db());
    if (!transaction) return std::unexpected(transaction.error());
    std::size_t stored = 0;
    for (const auto& [agent, pending] : pending_) {
        auto ok = store_status(home.db(), pending.record, pending.envelope, pending.received);
        if (!ok) return std::unexpected(ok.error());
        stored += *ok ? 1 : 0;
    }
    if (auto committed = transaction->commit(); !committed) return committed;
    for (const auto& [agent, pending] : pending_) {
        if (auto announced = announce_refusals(home, pending.record); !announced)
            spdlog::error("status of {}: {}", agent.substr(0, 12), announced.error().message());
    }
    spdlog::debug("folded {} status record(s)", stored);
    statuses_folded_ += stored;
    pending_.clear();
    want_gate_ = true;
    return {};
}

std::string ServeDaemon::handle_request(const std::string& line) {
    const auto request = nlohmann::json::parse(line, nullptr, false);
    if (request.is_discarded() || !request.is_object() || !request.contains("command")
        || !request["command"].is_string()) {
        return nlohmann::json{{"ok", false}, {"error", "expected {\"command\": \"sync\" or \"status\"}"}}.dump();
    }
    const std::string command = request["command"];
    if (command == "sync") {
        // Answered at once: the caller may still hold the home; the tick
        // retries until it is free.
        want_sync_ = true;
        request_tick(milliseconds(0));
        return nlohmann::json{{"ok", true}, {"scheduled", "sync"}}.dump();
    }
    if (command == "status") return health().dump();
    return nlohmann::json{{"ok", false}, {"error", "unknown command \"" + command + "\" (sync, status)"}}.dump();
}

nlohmann::json ServeDaemon::health() const {
    nlohmann::json rollouts = nlohmann::json::array();
    std::size_t active = 0;
    for (const auto& [id, memory] : rollouts_) {
        const bool running = memory.phase == rollout::RolloutPhase::running
                             || memory.phase == rollout::RolloutPhase::waiting
                             || memory.phase == rollout::RolloutPhase::paused;
        active += running ? 1 : 0;
        rollouts.push_back({{"rollout_id", id},
                            {"phase", rollout::to_string(memory.phase)},
                            {"open_wave", memory.open_wave + 1},
                            {"manifest_version", memory.manifest_published},
                            {"control_sequence", memory.control_published}});
    }
    return {{"ok", true},
            {"agent_id", member_ ? to_hex(member_->id()) : std::string()},
            {"gossip", member_ ? net::to_string(member_->gossip_address()) : std::string()},
            {"swarm", member_ ? net::to_string(member_->swarm_endpoint()) : std::string()},
            {"members_alive", alive_members_.size()},
            {"rollouts_active", active},
            {"rollouts", rollouts},
            {"seeding", seeded_.size()},
            {"statuses_folded", statuses_folded_},
            {"agents_reporting", status_sequences_.size()}};
}

void ServeDaemon::schedule_poll() {
    poll_timer_.expires_after(kPollInterval);
    std::weak_ptr<bool> alive = alive_;
    poll_timer_.async_wait([this, alive](boost::system::error_code error) {
        if (error || alive.expired()) return;
        request_tick(milliseconds(0));
        schedule_poll();
    });
}

void ServeDaemon::schedule_gate() {
    gate_timer_.expires_after(options_.config.gate_interval);
    std::weak_ptr<bool> alive = alive_;
    gate_timer_.async_wait([this, alive](boost::system::error_code error) {
        if (error || alive.expired()) return;
        want_gate_ = true;
        request_tick(milliseconds(0));
        schedule_gate();
    });
}

void ServeDaemon::schedule_health() {
    if (options_.config.status_interval <= Duration::zero()) return;
    health_timer_.expires_after(options_.config.status_interval);
    std::weak_ptr<bool> alive = alive_;
    health_timer_.async_wait([this, alive](boost::system::error_code error) {
        if (error || alive.expired()) return;
        const auto summary = health();
        spdlog::info("health: {} member(s) alive, {} rollout(s) active, seeding {} bundle(s), {} agent(s) reporting",
                     summary["members_alive"].get<std::size_t>(), summary["rollouts_active"].get<std::size_t>(),
                     summary["seeding"].get<std::size_t>(), summary["agents_reporting"].get<std::size_t>());
        schedule_health();
    });
}

}  // namespace patchwave::orchestrator
