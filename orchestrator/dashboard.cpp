#include "orchestrator/dashboard.hpp"

#include <algorithm>
#include <charconv>

namespace patchwave::orchestrator {
namespace {

constexpr std::size_t kDefaultEvents = 200;
constexpr std::size_t kMaxEvents = 1000;

// The page loads nothing from elsewhere and runs no inline script, so a host
// name or reason that smuggles markup in cannot run.
constexpr std::string_view kPagePolicy =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

net::HttpResponse json_response(unsigned status, const nlohmann::json& body) {
    net::HttpResponse response;
    response.status = status;
    response.content_type = "application/json";
    // Host names and reasons come from agents: never let bad UTF-8 throw.
    response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return response;
}

net::HttpResponse error_response(unsigned status, const std::string& message) {
    return json_response(status, {{"error", message}});
}

// A non-negative integer query parameter, or `fallback` when absent; nullopt when malformed.
std::optional<std::int64_t> number(const net::HttpRequest& request, const std::string& name, std::int64_t fallback) {
    const auto found = request.query.find(name);
    if (found == request.query.end()) return fallback;
    std::int64_t value = 0;
    const std::string& text = found->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
    return value;
}

std::string_view content_type_of(std::string_view name) {
    if (name.ends_with(".html")) return "text/html; charset=utf-8";
    if (name.ends_with(".css")) return "text/css; charset=utf-8";
    if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
    return "application/octet-stream";
}

std::optional<net::HttpResponse> static_file(std::string_view path) {
    if (path == "/") path = "/index.html";
    for (const EmbeddedFile& file : dashboard_files()) {
        if (path.substr(1) != file.name) continue;
        net::HttpResponse response;
        response.content_type = std::string(content_type_of(file.name));
        response.body = std::string(file.content);
        response.headers.emplace_back("Content-Security-Policy", std::string(kPagePolicy));
        response.headers.emplace_back("X-Frame-Options", "DENY");
        response.headers.emplace_back("Referrer-Policy", "no-referrer");
        return response;
    }
    return std::nullopt;
}

nlohmann::json events_json(const std::vector<Event>& events) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& event : events) out.push_back(event.to_json());
    return out;
}

nlohmann::json status_all_json(const FleetReport& report) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : report.rollouts) out.push_back(status_json(item));
    return out;
}

}  // namespace

net::HttpResponse answer_dashboard(const net::HttpRequest& request, const SnapshotReader& read,
                                   const nlohmann::json& health) {
    if (auto file = static_file(request.path)) return std::move(*file);
    if (!request.path.starts_with("/api/")) return error_response(404, "no page " + request.path + " here");

    const bool events_only = request.path == "/api/events";
    const bool all = request.path == "/api/dashboard";
    if (!events_only && !all && request.path != "/api/status" && request.path != "/api/audit"
        && request.path != "/api/hosts") {
        return error_response(404, "no endpoint " + request.path
                                       + " (status, audit, hosts, events, dashboard under /api/)");
    }
    const auto after = number(request, all ? "events_after" : "after", 0);
    const auto limit = number(request, "limit", static_cast<std::int64_t>(kDefaultEvents));
    if (!after || !limit || *limit < 1 || *limit > static_cast<std::int64_t>(kMaxEvents)) {
        return error_response(400, "after and events_after must be event ids (0 or more), limit 1-1000");
    }
    const std::size_t events_limit = (events_only || all) ? static_cast<std::size_t>(*limit) : 0;
    auto snapshot = read(*after, events_limit);
    if (!snapshot) {
        if (snapshot.error().is(Errc::timeout)) {
            net::HttpResponse busy = error_response(503, "the orchestrator's home is busy; try again in a moment");
            busy.headers.emplace_back("Retry-After", "1");
            return busy;
        }
        return error_response(500, snapshot.error().message());
    }
    const FleetReport& report = *snapshot->report;
    if (events_only) return json_response(200, events_json(snapshot->events));
    if (request.path == "/api/status") return json_response(200, status_all_json(report));
    if (request.path == "/api/audit") {
        return json_response(200, audit_all_json(report, snapshot->now, snapshot->silence, true));
    }
    if (request.path == "/api/hosts") return json_response(200, hosts_json(report, snapshot->now, snapshot->silence));

    // The page's poll: the audit per rollout keeps its own refusals, and the
    // fleet's are listed once beside it.
    nlohmann::json refused = nlohmann::json::array();
    for (const auto& entry : rollout::collect_refusals(report.hosts)) {
        refused.push_back({{"host", entry.host},
                           {"subject", entry.refusal.subject},
                           {"reason", entry.refusal.reason},
                           {"count", entry.refusal.count},
                           {"last", format_timestamp(entry.refusal.last)}});
    }
    return json_response(200, {{"time", format_timestamp(snapshot->now)},
                               {"silence_seconds", snapshot->silence.count()},
                               {"serve", health},
                               {"status", status_all_json(report)},
                               {"hosts", hosts_json(report, snapshot->now, snapshot->silence)},
                               {"audit", audit_all_json(report, snapshot->now, snapshot->silence, false)},
                               {"refused", refused},
                               {"events", events_json(snapshot->events)}});
}

}  // namespace patchwave::orchestrator
