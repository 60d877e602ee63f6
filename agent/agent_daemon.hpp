// The endpoint daemon: joins the fleet, verifies what arrives, applies bundles
// in its wave and window through the journal, reboots politely, reports status.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/eligibility.hpp"
#include "agent/journal.hpp"
#include "agent/reboot_manager.hpp"
#include "agent/refusal_log.hpp"
#include "agent/state_dir.hpp"
#include "agent/step_worker.hpp"
#include "crypto/keys.hpp"
#include "common/metrics_text.hpp"
#include "net/http_server.hpp"
#include "net/line_socket.hpp"
#include "net/fleet/fleet_member.hpp"
#include "rollout/agent_config.hpp"
#include "rollout/bundle_meta.hpp"

namespace patchwave::agent {

/// Bundle steps (precheck, install, verify, rollback) beyond the wave's
/// retries: a step the agent itself interrupted (crash, kill -9, shutdown) is
/// rolled back and tried again this many times before the bundle fails.
inline constexpr std::uint32_t kMaxInterruptedRetries = 2;

class AgentDaemon {
public:
    struct Options {
        rollout::AgentConfig config;
        std::filesystem::path config_path;  ///< for messages
        std::function<Timestamp()> clock;   ///< wall clock; tests may shift it (PATCHWAVE_NOW)
    };

    /// Loads identity, trust root and certificate, opens the journal, takes
    /// the state dir lock, binds the control socket, gossip and swarm, then
    /// joins the fleet. Errors name the file and the reason.
    static Result<std::unique_ptr<AgentDaemon>> start(boost::asio::io_context& io, Options options);
    ~AgentDaemon();
    AgentDaemon(const AgentDaemon&) = delete;
    AgentDaemon& operator=(const AgentDaemon&) = delete;

    /// Cancels a running command (its step is rolled back and retried at the
    /// next start), leaves the fleet, stops the swarm. `done` runs when stopped.
    void stop();
    bool stopped() const { return stopping_; }

private:
    struct BundleRef {
        std::string rollout_id;
        rollout::BundleId bundle{};
    };

    AgentDaemon(boost::asio::io_context& io, Options options);
    Status open(const std::filesystem::path& lock_path);

    // agent_records.cpp: what arrives from the fleet.
    void on_record(const net::gossip::RecordPtr& record);
    void accept_manifest(const net::gossip::RecordHeader& header, const crypto::Envelope& envelope);
    void accept_control(const net::gossip::RecordHeader& header, const crypto::Envelope& envelope);
    const rollout::ControlRecord* control_of(const std::string& rollout_id) const;
    void on_root_adopted(const crypto::TrustRoot& root);  // lets go of what revoked keys signed

    // agent_clock.cpp: the time every check is judged at.
    Timestamp now() const;  // max(clock, trusted time): never goes back
    Timestamp trusted_now() const;
    void stamp_trusted_time(JournalState& next) const;  // persists the trusted time and its anchor

    // agent_apply.cpp: the apply pipeline.
    void reconcile();
    void request_reconcile();
    void sync_rollouts(JournalState& next);
    void work_on_rollout(const rollout::Manifest& manifest, const Eligibility& eligibility, JournalState& next);
    void start_download(BundleJournal& bundle);
    void join_early(const BundleJournal& bundle);
    void reseed_kept_bundles();
    void on_bundle_ready(const rollout::BundleId& id);
    void on_bundle_failed(const rollout::BundleId& id, const Error& error);
    void start_step(const std::string& rollout_id, const rollout::BundleId& bundle, std::string_view step,
                    JournalState& next);
    void on_step_done(std::string rollout_id, rollout::BundleId bundle, std::string step,
                      Result<CommandOutcome> outcome);
    void finish_bundle(BundleJournal& bundle, const std::string& rollout_id, JournalState& next);
    void fail_step(BundleJournal& bundle, std::string_view step, std::string reason, const std::string& rollout_id,
                   JournalState& next);
    void after_rollback(BundleJournal& bundle, bool rolled_back, const std::string& rollout_id, JournalState& next);
    void recover_interrupted(JournalState& next);
    Result<rollout::BundleMeta> bundle_meta(const std::string& rollout_id, const rollout::BundleId& id) const;
    std::optional<std::uint32_t> wave_retries(const std::string& rollout_id) const;
    bool commit(JournalState next, std::string_view crash_label);

    // agent_reboot.cpp
    void check_boot();
    void plan_and_maybe_reboot(JournalState& next);
    RebootLimitsOf limits_of() const;
    RebootSettings reboot_settings() const;
    std::string defer(Duration defer_for);

    // agent_refusals.cpp: what this agent refused, reported in its status.
    void load_refusals();
    void save_refusals();
    void on_refused(const net::gossip::RecordHeader& header, const Error& error);
    void note_refusal(const std::string& subject, const std::string& reason, bool once = false);
    void note_bundle_refusals(const rollout::Manifest& manifest);
    void request_publish();  // a status record soon (debounced), like a journal commit

    // agent_metrics.cpp: GET /metrics when [metrics] listen is set
    Status open_metrics();
    net::HttpResponse answer_metrics();
    void observe_step(std::string_view step, const Result<CommandOutcome>& outcome);

    // agent_status.cpp
    rollout::StatusRecord build_status(Timestamp now) const;
    void publish_status();
    void schedule_status();
    std::string handle_control(const std::string& request);
    void check_drift();

    void schedule_wake(std::optional<Timestamp> at);

    boost::asio::io_context& io_;
    Options options_;
    StateDir state_;
    int lock_fd_ = -1;
    std::optional<crypto::PrivateKey> identity_;
    rollout::AgentCertificate certificate_;
    HostFacts host_;
    std::string boot_id_;
    std::optional<Journal> journal_;
    std::map<std::string, rollout::Manifest> manifests_;      // verified, by rollout id
    std::map<std::string, rollout::ControlRecord> controls_;  // verified, latest per rollout id
    // Their envelopes: checked again when a new root rotates the keys that signed them.
    std::map<std::string, crypto::Envelope> manifest_envelopes_;
    std::map<std::string, crypto::Envelope> control_envelopes_;
    Timestamp trusted_floor_{};  // the certificate's issue time
    // The kernel's boot id, which CLOCK_BOOTTIME belongs to: the configured
    // boot_id_file may be another (tests fake reboots with one).
    std::string kernel_boot_id_;
    bool batch_active_ = false;  // some bundle of an active rollout is being fetched or applied
    std::set<rollout::BundleId> fetching_;  // handed to the swarm in this process
    std::set<rollout::BundleId> held_;      // joined before the wave opens, downloading nothing yet
    std::map<rollout::BundleId, std::pair<std::uint64_t, std::uint64_t>> progress_;  // done, total
    RefusalLog refusals_;
    bool refusals_dirty_ = false;  // counts moved since refusals.json was written
    std::unique_ptr<net::FleetMember> member_;
    std::unique_ptr<StepWorker> worker_;
    std::unique_ptr<net::LineSocketServer> control_;
    std::unique_ptr<net::HttpServer> metrics_;
    std::map<std::pair<std::string, std::string>, Histogram> step_seconds_;  // (step, outcome) -> durations
    std::optional<BundleRef> running_;  // the bundle whose command the worker runs
    std::string reboot_reason_;
    bool reboot_running_ = false;
    boost::asio::steady_timer wake_timer_;
    boost::asio::steady_timer status_timer_;
    boost::asio::steady_timer drift_timer_;
    boost::asio::steady_timer publish_timer_;
    bool reconcile_posted_ = false;
    bool status_dirty_ = false;
    bool publish_posted_ = false;
    bool joined_ = false;
    bool stopping_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// Reads the boot id file (trimmed). Errc::io naming the file.
Result<std::string> read_boot_id(const std::filesystem::path& path);

}  // namespace patchwave::agent
