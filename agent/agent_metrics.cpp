// The agent's Prometheus metrics (off unless [metrics] listen is set): its
// bundles by state, step durations, the reboot it waits for, drift, refusals,
// and the gossip and swarm figures every fleet member has.
#include <spdlog/spdlog.h>

#include "agent/agent_daemon.hpp"
#include "net/fleet/fleet_metrics.hpp"

namespace patchwave::agent {
namespace {

// Seconds: bundle steps run from well under a second to the 10-minute
// timeouts bundle.toml examples use, and beyond.
const std::vector<double> kStepBuckets{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};

}  // namespace

Status AgentDaemon::open_metrics() {
    if (!options_.config.metrics_listen) return {};
    auto endpoint = net::to_ip_endpoint(*options_.config.metrics_listen);
    if (!endpoint) return std::unexpected(endpoint.error().with_context(options_.config_path.string() + ": [metrics]"));
    std::weak_ptr<bool> alive = alive_;
    auto server =
        net::HttpServer::open(io_, *endpoint, options_.config_path.string() + ": [metrics] listen",
                              [this, alive](const net::HttpRequest& request) {
                                  if (alive.expired()) return net::HttpResponse::text(503, "the agent is stopping");
                                  if (request.path == "/metrics") return answer_metrics();
                                  if (request.path == "/") {
                                      return net::HttpResponse::text(200, "patchwave-agent: metrics are at /metrics");
                                  }
                                  return net::HttpResponse::text(404, "no page " + request.path
                                                                          + " here: metrics are at /metrics");
                              });
    if (!server) return std::unexpected(server.error());
    metrics_ = std::move(*server);
    spdlog::info("metrics: http://{}/metrics", net::to_string(metrics_->endpoint()));
    return {};
}

void AgentDaemon::observe_step(std::string_view step, const Result<CommandOutcome>& outcome) {
    if (!outcome) return;  // the command never ran: no duration to tell
    const std::pair<std::string, std::string> key{std::string(step), outcome->succeeded() ? "ok" : "failed"};
    auto [it, added] = step_seconds_.try_emplace(key, kStepBuckets);
    it->second.observe(std::chrono::duration<double>(outcome->duration).count());
}

net::HttpResponse AgentDaemon::answer_metrics() {
    const Timestamp time = now();
    const JournalState& journal = journal_->state();
    MetricsText text;

    text.family("patchwave_agent_bundles", MetricType::gauge,
                "Bundles of this host's rollouts by state, as its journal holds them.");
    std::map<rollout::HostState, std::size_t> by_state;
    for (const auto& rollout : journal.rollouts) {
        for (const auto& bundle : rollout.bundles) ++by_state[bundle.state];
    }
    for (const auto state : rollout::kAllHostStates)
        text.sample(static_cast<double>(by_state[state]), {{"state", std::string(rollout::to_string(state))}});

    text.family("patchwave_agent_step_duration_seconds", MetricType::histogram,
                "How long bundle steps (precheck, install, verify, post-reboot-verify, rollback) ran, by outcome, "
                "since the agent started.");
    for (const auto& [key, histogram] : step_seconds_)
        text.histogram(histogram, {{"step", key.first}, {"outcome", key.second}});

    const rollout::RebootStatus reboot = reboot_status(journal, limits_of(), reboot_settings(), time);
    text.family("patchwave_agent_reboot_pending", MetricType::gauge,
                "1 while an installed bundle waits for a reboot to take effect.");
    text.sample(reboot.pending ? 1 : 0);
    text.family("patchwave_agent_reboot_pending_seconds", MetricType::gauge,
                "How long the pending reboot has been waiting (0 when none is pending).");
    const Duration age =
        reboot.pending && reboot.pending_since ? std::max(Duration::zero(), time - *reboot.pending_since) : Duration{};
    text.sample(static_cast<double>(age.count()));
    text.family("patchwave_agent_reboot_deferrals_used", MetricType::gauge,
                "Deferrals of the pending reboot the local user has used.");
    text.sample(static_cast<double>(reboot.deferrals_used));

    text.family("patchwave_agent_drift_findings", MetricType::gauge,
                "Tracked paths whose content no approved bundle explains (drift).");
    text.sample(static_cast<double>(journal.drift.size()));
    text.family("patchwave_agent_refusals", MetricType::gauge,
                "Distinct records and bundles this agent refused (kept in refusals.json).");
    text.sample(static_cast<double>(refusals_.entries().size()));
    text.family("patchwave_agent_status_records_total", MetricType::counter,
                "Status records this agent has signed (its journal keeps the count across restarts).");
    text.sample(static_cast<double>(journal.status_sequence));

    if (member_) net::write_fleet_metrics(text, *member_);
    auto body = std::move(text).finish();
    if (!body) {
        spdlog::error("{}", body.error().message());
        return net::HttpResponse::text(500, body.error().message());
    }
    net::HttpResponse response;
    response.content_type = std::string(kMetricsContentType);
    response.body = std::move(*body);
    return response;
}

}  // namespace patchwave::agent
