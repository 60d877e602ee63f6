// `patchwave serve`'s HTTP side: Prometheus metrics and the read-only
// dashboard, each on its own address (or one listener for both), answered on
// the daemon's event loop from a shared read of the home.
#include <cmath>

#include <spdlog/spdlog.h>

#include "common/metrics_text.hpp"
#include "net/fleet/fleet_metrics.hpp"
#include "orchestrator/serve_daemon.hpp"
#include "orchestrator/serve_metrics.hpp"

namespace patchwave::orchestrator {

Status ServeDaemon::open_http() {
    const ServeConfig& config = options_.config;
    struct Listener {
        rollout::Endpoint where;
        bool metrics = false;
        bool dashboard = false;
        bool configured = false;  // named in serve.toml, not a default
        std::string what;
    };
    std::vector<Listener> listeners;
    if (config.metrics_listen)
        listeners.push_back({*config.metrics_listen, true, false, config.metrics_listen_set, "metrics_listen"});
    if (config.dashboard_listen) {
        if (!listeners.empty() && listeners.front().where == *config.dashboard_listen) {
            listeners.front().dashboard = true;
            listeners.front().configured = listeners.front().configured || config.dashboard_listen_set;
            listeners.front().what = "metrics_listen and dashboard_listen";
        } else {
            listeners.push_back({*config.dashboard_listen, false, true, config.dashboard_listen_set, "dashboard_listen"});
        }
    }
    for (const Listener& listener : listeners) {
        auto endpoint = net::to_ip_endpoint(listener.where);
        if (!endpoint) return std::unexpected(endpoint.error().with_context(listener.what));
        std::weak_ptr<bool> alive = alive_;
        auto server = net::HttpServer::open(
            io_, *endpoint, listener.what,
            [this, alive, metrics = listener.metrics, dashboard = listener.dashboard](const net::HttpRequest& request) {
                if (alive.expired()) return net::HttpResponse::text(503, "patchwave serve is stopping");
                return answer_http(request, metrics, dashboard);
            });
        if (!server) {
            if (listener.configured) return std::unexpected(server.error());
            // A default address another process holds must not keep the
            // orchestrator itself from running.
            spdlog::warn("{} (a default: set it in serve.toml to another address, or to \"off\")",
                         server.error().message());
            continue;
        }
        spdlog::info("{}: http://{}/{}", listener.what, net::to_string((*server)->endpoint()),
                     listener.dashboard ? "" : "metrics");
        http_.push_back(std::move(*server));
    }
    return {};
}

net::HttpResponse ServeDaemon::answer_http(const net::HttpRequest& request, bool metrics, bool dashboard) {
    if (metrics && request.path == "/metrics") return answer_metrics();
    if (dashboard) {
        return answer_dashboard(
            request,
            [this](std::int64_t events_after, std::size_t events_limit) {
                return read_snapshot(events_after, events_limit);
            },
            health());
    }
    if (request.path == "/") return net::HttpResponse::text(200, "patchwave serve: metrics are at /metrics");
    return net::HttpResponse::text(404, "no page " + request.path + " here: metrics are at /metrics");
}

Result<FleetSnapshot> ServeDaemon::read_snapshot(std::int64_t events_after, std::size_t events_limit) {
    // Never waits: a CLI command holding the home makes this a 503 (or, for
    // metrics, the last read), not a stalled event loop.
    auto home = Home::open(options_.home, LockMode::shared, /*wait=*/false);
    if (!home) return std::unexpected(home.error());
    FleetSnapshot snapshot;
    snapshot.now = now();
    snapshot.silence = options_.config.silence_timeout;
    auto report = evaluate_fleet(home->db(), std::nullopt, snapshot.now, snapshot.silence);
    if (!report) return std::unexpected(report.error());
    if (events_limit > 0) {
        auto events = list_events(home->db(), events_after, events_limit);
        if (!events) return std::unexpected(events.error());
        snapshot.events = std::move(*events);
    }
    snapshot.report = std::make_shared<const FleetReport>(std::move(*report));
    last_report_ = snapshot.report;
    last_report_at_ = snapshot.now;
    return snapshot;
}

net::HttpResponse ServeDaemon::answer_metrics() {
    auto snapshot = read_snapshot(0, 0);
    if (!snapshot && !snapshot.error().is(Errc::timeout)) spdlog::warn("metrics: {}", snapshot.error().message());
    if (!last_report_) {
        net::HttpResponse busy = net::HttpResponse::text(503, "the orchestrator's home is busy; scrape again");
        busy.headers.emplace_back("Retry-After", "1");
        return busy;
    }
    const Timestamp time = now();
    MetricsText text;
    write_report_metrics(text, *last_report_, time, options_.config.silence_timeout);
    text.family("patchwave_report_age_seconds", MetricType::gauge,
                "Seconds since the database was read for the fleet figures above (above 0 only while a command "
                "held the home at scrape time).");
    text.sample(static_cast<double>(std::max(Duration::zero(), time - *last_report_at_).count()));
    text.family("patchwave_status_records_folded_total", MetricType::counter,
                "Agents' status records folded into the database since serve started.");
    text.sample(static_cast<double>(statuses_folded_));
    text.family("patchwave_bundles_seeded", MetricType::gauge, "Bundles of active rollouts this orchestrator seeds.");
    text.sample(static_cast<double>(seeded_.size()));
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

}  // namespace patchwave::orchestrator
