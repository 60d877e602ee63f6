#include "agent/agent_daemon.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

#include "agent/leftover_steps.hpp"
#include "agent/trust_state.hpp"
#include "agent/trusted_time.hpp"
#include "common/file_io.hpp"
#include "crypto/key_file.hpp"

namespace patchwave::agent {

Result<std::string> read_boot_id(const std::filesystem::path& path) {
    auto text = read_file(path, 4096);
    if (!text) return std::unexpected(std::move(text.error()).with_context("boot id file"));
    std::string id = *text;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ' || id.back() == '\r')) id.pop_back();
    if (id.empty()) return fail(Errc::io, "boot id file " + path.string() + " is empty");
    return id;
}

AgentDaemon::AgentDaemon(boost::asio::io_context& io, Options options)
    : io_(io),
      options_(std::move(options)),
      state_{options_.config.state_dir},
      wake_timer_(io),
      status_timer_(io),
      drift_timer_(io),
      publish_timer_(io) {}

AgentDaemon::~AgentDaemon() {
    stop();
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<AgentDaemon>> AgentDaemon::start(boost::asio::io_context& io, Options options) {
    std::unique_ptr<AgentDaemon> daemon(new AgentDaemon(io, std::move(options)));
    if (auto opened = daemon->open(daemon->state_.lock()); !opened) return std::unexpected(opened.error());
    return daemon;
}

Status AgentDaemon::open(const std::filesystem::path& lock_path) {
    const rollout::AgentConfig& config = options_.config;
    if (auto prepared = state_.prepare(); !prepared) return prepared;

    // One daemon per state dir: two would interleave journal writes.
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return fail(Errc::io, "cannot open " + lock_path.string() + ": " + std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        return fail(Errc::state, "another patchwave-agent is running with state dir " + config.state_dir +
                                     " (it holds " + lock_path.string() + ")");
    }

    auto key = crypto::load_private_key(state_.identity_key());
    if (!key) {
        return fail(key.error().with_context("identity key (create it with `patchwave-agent init --config " +
                                             options_.config_path.string() + "`)"));
    }
    identity_.emplace(std::move(*key));
    host_.agent = identity_->public_key().id();

    auto boot_id = read_boot_id(config.boot_id_file);
    if (!boot_id) return std::unexpected(boot_id.error());
    boot_id_ = *boot_id;
    kernel_boot_id_ = read_boot_id(kKernelBootIdFile).value_or("");

    auto journal = Journal::open(state_.journal());
    if (!journal) return std::unexpected(journal.error());
    journal_.emplace(std::move(*journal));
    load_refusals();

    const Timestamp start_time = now();
    auto root = load_trust_root(config.root, state_.roots(), start_time);
    if (!root) return std::unexpected(root.error());
    auto certificate = load_certificate(config.certificate, *root, host_.agent, start_time);
    if (!certificate) return std::unexpected(certificate.error());
    certificate_ = certificate->certificate;
    // Signed by enrollment: the real time is at least this (a fresh agent
    // with a clock far behind still judges expiry from here on).
    trusted_floor_ = certificate_.issued;
    host_.labels = certificate_.labels;
    host_.maintenance = config.maintenance;
    host_.offset = config.utc_offset;

    // Fail closed: an agent told to confine commands that cannot (namespaces
    // disabled, kernel before 5.12) does not start rather than run them loose.
    if (config.confine_commands) {
        if (auto confinable = confinement_available(); !confinable)
            return fail(confinable.error().with_context(options_.config_path.string() + ": confine_commands = true"));
    }
    worker_ = std::make_unique<StepWorker>(io_.get_executor());
    auto control = net::LineSocketServer::open(io_, state_.control_socket(),
                                       [this](const std::string& request) { return handle_control(request); });
    if (!control) return std::unexpected(control.error());
    control_ = std::move(*control);

    net::FleetMemberConfig fleet;
    const auto probe = std::chrono::duration_cast<std::chrono::microseconds>(config.probe_interval);
    fleet.node.probe_interval = probe;
    fleet.node.probe_timeout = probe / 2;
    fleet.gossip_listen = config.gossip_listen;
    fleet.advertise = config.advertise;
    fleet.seeds = config.seeds;
    fleet.fleet_key_file = config.fleet_key;
    fleet.records_dir = state_.records();
    fleet.swarm.listen_address = config.swarm_listen.host;
    fleet.swarm.listen_port = config.swarm_listen.port;
    fleet.swarm.upload_limit = config.upload_limit;
    fleet.swarm.download_limit = config.download_limit;
    if (config.connections) fleet.swarm.connection_budget = static_cast<int>(*config.connections);
    fleet.swarm.state_dir = state_.swarm();
    fleet.swarm.seed_budget_bytes = config.disk_budget;
    std::weak_ptr<bool> alive = alive_;
    fleet.swarm_events.ready = [this, alive](const rollout::BundleId& id, const std::filesystem::path&) {
        if (!alive.expired()) on_bundle_ready(id);
    };
    fleet.swarm_events.failed = [this, alive](const rollout::BundleId& id, const Error& error) {
        if (!alive.expired()) on_bundle_failed(id, error);
    };
    fleet.swarm_events.progress = [this, alive](const net::BundleProgress& progress) {
        if (alive.expired()) return;
        progress_[progress.id] = {progress.bytes_done, progress.bytes_total};
    };
    auto member = net::FleetMember::start(io_, std::move(fleet), *root, certificate->envelope,
                                          [this] { return now(); });
    if (!member) {
        return std::unexpected(member.error().with_context(options_.config_path.string() + ": [gossip]/[swarm]"));
    }
    member_ = std::move(*member);
    member_->on_record = [this](const net::gossip::RecordPtr& record) { on_record(record); };
    member_->on_refused = [this](const net::gossip::RecordHeader& header, const Error& error) {
        on_refused(header, error);
    };
    member_->on_root = [this](const crypto::TrustRoot& adopted, std::span<const std::uint8_t> envelope) {
        if (auto saved = save_adopted_root(state_.roots(), adopted, envelope); !saved)
            spdlog::error("{}", saved.error().message());
        else
            spdlog::info("adopted trust root version {}", adopted.version);
        on_root_adopted(adopted);
    };

    if (auto opened = open_metrics(); !opened) return opened;

    check_boot();
    // A step the last run was in the middle of may still be running (a
    // SIGKILLed agent cannot stop it): it must be gone before recovery reruns
    // or rolls it back. Nothing of this run has started yet.
    if (const std::size_t left = kill_leftover_steps(rollout::to_hex(host_.agent)); left > 0)
        spdlog::warn("stopped {} process(es) of a step the agent left running when it last stopped", left);
    reseed_kept_bundles();
    spdlog::info("agent {} ({}) starting: wave labels {}, boot id {}", rollout::to_hex(host_.agent),
                 certificate_.host, certificate_.labels.size(), boot_id_);
    member_->join([this, alive](Status joined) {
        if (alive.expired()) return;
        if (!joined) {
            spdlog::warn("gossip join ended: {}", joined.error().message());
            return;
        }
        joined_ = true;
        spdlog::info("joined the fleet");
        status_dirty_ = true;
        request_reconcile();
    });
    // Saved records were re-offered by join(): act on them even before a seed answers.
    request_reconcile();
    check_drift();
    schedule_status();
    return {};
}

void AgentDaemon::stop() {
    if (stopping_) return;
    stopping_ = true;
    *alive_ = false;
    if (worker_) worker_->cancel();
    boost::system::error_code ignored;
    wake_timer_.cancel();
    status_timer_.cancel();
    drift_timer_.cancel();
    publish_timer_.cancel();
    if (control_) control_->close();
    if (metrics_) metrics_->close();
    if (member_) member_->stop();
    worker_.reset();  // joins the worker thread (the command was cancelled)
}

bool AgentDaemon::commit(JournalState next, std::string_view crash_label) {
    stamp_trusted_time(next);
    if (next == journal_->state()) return true;
    // The trusted time alone moves every second: persist it hourly, quietly
    // (no status record), rather than rewrite the journal on every wake-up.
    JournalState same_otherwise = next;
    same_otherwise.trusted_time = journal_->state().trusted_time;
    same_otherwise.trusted_boot_id = journal_->state().trusted_boot_id;
    same_otherwise.trusted_boot_seconds = journal_->state().trusted_boot_seconds;
    if (same_otherwise == journal_->state()) {
        if (next.trusted_time < journal_->state().trusted_time + std::chrono::hours(1)) return true;
        if (auto written = journal_->commit(std::move(next)); !written) spdlog::warn("{}", written.error().message());
        return true;
    }
    crash_point("before-commit:" + std::string(crash_label));
    if (auto written = journal_->commit(std::move(next)); !written) {
        // The action this commit announces must not happen: the journal
        // would not know about it after a crash.
        spdlog::error("{}", written.error().message());
        return false;
    }
    crash_point("after-commit:" + std::string(crash_label));
    status_dirty_ = true;
    if (!publish_posted_ && !stopping_) {
        publish_posted_ = true;
        publish_timer_.expires_after(std::chrono::milliseconds(100));
        std::weak_ptr<bool> alive = alive_;
        publish_timer_.async_wait([this, alive](boost::system::error_code error) {
            if (error || alive.expired()) return;
            publish_posted_ = false;
            publish_status();
        });
    }
    return true;
}

void AgentDaemon::schedule_wake(std::optional<Timestamp> at) {
    if (!at || stopping_) return;
    const auto delay = std::max(std::chrono::seconds(0), *at - options_.clock());
    // Timers past a day are re-armed on the way: the clock may be adjusted.
    const auto expiry = std::chrono::steady_clock::now() +
                        std::min<std::chrono::seconds>(delay + std::chrono::seconds(1), std::chrono::hours(24));
    // Several parts ask for a wake (the apply pipeline, the reboot plan): an
    // earlier one still pending is kept, or the later request would lose it.
    const auto pending = wake_timer_.expiry();
    if (pending > std::chrono::steady_clock::now() && pending <= expiry) return;
    wake_timer_.expires_at(expiry);
    std::weak_ptr<bool> alive = alive_;
    wake_timer_.async_wait([this, alive](boost::system::error_code error) {
        if (error || alive.expired()) return;
        request_reconcile();
    });
}

void AgentDaemon::request_reconcile() {
    if (reconcile_posted_ || stopping_) return;
    reconcile_posted_ = true;
    std::weak_ptr<bool> alive = alive_;
    boost::asio::post(io_, [this, alive] {
        if (alive.expired()) return;
        reconcile_posted_ = false;
        reconcile();
    });
}

}  // namespace patchwave::agent
