// `patchwave serve`: the orchestrator as a fleet member. Publishes what the CLI
// signed and stored, seeds active rollouts' bundles, folds agents' status
// records into the database, runs the gate, signs advances and auto-pauses,
// and records every event. The home is opened per operation, never held.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "net/fleet/fleet_member.hpp"
#include "net/http_server.hpp"
#include "net/line_socket.hpp"
#include "orchestrator/dashboard.hpp"
#include "orchestrator/home.hpp"
#include "orchestrator/serve_config.hpp"
#include "orchestrator/serve_events.hpp"
#include "rollout/gate.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::orchestrator {

struct ServeOptions {
    std::filesystem::path home;
    ServeConfig config;
    std::function<Timestamp()> clock;  ///< wall clock (tests shift it with PATCHWAVE_NOW)
};

/// Single-threaded on the io_context, like FleetMember.
class ServeDaemon {
public:
    /// Takes home/serve.lock (one daemon per home: Errc::state otherwise),
    /// loads its identity, starts the member and the control socket, and
    /// schedules the first sync, which publishes everything stored.
    static Result<std::unique_ptr<ServeDaemon>> start(boost::asio::io_context& io, ServeOptions options);
    ~ServeDaemon();
    ServeDaemon(const ServeDaemon&) = delete;
    ServeDaemon& operator=(const ServeDaemon&) = delete;

    /// Leaves gossip, closes the socket, stops timers and hooks. Idempotent.
    void stop();

    /// {"ok":true,"agent_id","gossip","swarm","members_alive","rollouts_active","rollouts":[...],"seeding","statuses"}
    nlohmann::json health() const;

private:
    /// What has been done for one rollout in this run of the daemon.
    struct RolloutMemory {
        std::uint64_t manifest_published = 0;  ///< highest version handed to gossip
        std::uint64_t control_published = 0;   ///< highest control sequence handed to gossip
        rollout::RolloutPhase phase = rollout::RolloutPhase::running;
        std::size_t open_wave = 0;
    };
    struct PendingStatus {
        rollout::StatusRecord record;
        std::string envelope;
        Timestamp received{};
    };

    ServeDaemon(boost::asio::io_context& io, ServeOptions options);
    Status open();
    Timestamp now() const { return options_.clock(); }

    // serve_daemon.cpp: scheduling, the tick, status folding, the socket
    void request_tick(std::chrono::milliseconds delay);
    void tick();
    void on_record(const net::gossip::RecordPtr& record);
    Status flush_statuses(Home& home);
    std::string handle_request(const std::string& line);
    void schedule_poll();
    void schedule_gate();
    void schedule_health();
    Result<std::string> fingerprint(Home& home);

    // serve_http.cpp: /metrics and the dashboard
    Status open_http();
    net::HttpResponse answer_http(const net::HttpRequest& request, bool metrics, bool dashboard);
    net::HttpResponse answer_metrics();
    Result<FleetSnapshot> read_snapshot(std::int64_t events_after, std::size_t events_limit);

    // serve_refusals.cpp: a "refused" event per new refusal a host reports
    Status announce_refusals(Home& home, const rollout::StatusRecord& status);

    // serve_publish.cpp: the database out to the fleet
    Status sync(Home& home);
    void publish_roots(Home& home);
    void publish_certificates(Home& home);
    Status publish_rollouts(Home& home);
    Status announce_controls(Home& home, const std::string& rollout_id, const rollout::Manifest& manifest);
    void publish_envelope(const crypto::Envelope& envelope, const std::string& what);
    void seed_bundles(Home& home, const rollout::Manifest& manifest);

    // serve_gate.cpp: the gate over every rollout
    Status run_gate(Home& home);
    Status gate_rollout(Home& home, const rollout::Manifest& manifest, const std::vector<rollout::HostView>& hosts,
                        std::optional<Timestamp>& recheck);

    boost::asio::io_context& io_;
    ServeOptions options_;
    int lock_fd_ = -1;
    std::unique_ptr<HookRunner> hooks_;
    std::unique_ptr<EventRecorder> events_;
    std::unique_ptr<net::FleetMember> member_;
    std::unique_ptr<net::LineSocketServer> socket_;
    std::vector<std::unique_ptr<net::HttpServer>> http_;  // metrics and dashboard (one when they share an address)
    std::shared_ptr<const FleetReport> last_report_;      // the last database read, for a scrape while it is busy
    std::optional<Timestamp> last_report_at_;

    boost::asio::steady_timer tick_timer_;
    boost::asio::steady_timer poll_timer_;
    boost::asio::steady_timer gate_timer_;
    boost::asio::steady_timer health_timer_;
    std::optional<std::chrono::steady_clock::time_point> tick_at_;  // when the armed tick fires
    bool want_sync_ = true;
    bool want_gate_ = true;
    std::string fingerprint_;

    std::uint64_t root_published_ = 0;                         // highest root version held by the member
    std::map<std::string, Timestamp> certificates_published_;  // agent hex -> issue time
    std::map<std::string, RolloutMemory> rollouts_;
    std::set<rollout::BundleId> seeded_;
    std::set<rollout::BundleId> seed_failed_;                // logged once
    std::map<std::string, std::uint64_t> status_sequences_;  // agent hex -> highest folded or pending
    std::map<std::string, PendingStatus> pending_;
    std::set<net::gossip::MemberId> alive_members_;
    std::uint64_t statuses_folded_ = 0;
    bool stopped_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace patchwave::orchestrator
