// ServeDaemon: what hosts refused, as events. Every new (host, subject,
// reason) in a folded status record becomes one "refused" event for the log
// and the hooks; the log is the memory, so a restart repeats none.
#include <spdlog/spdlog.h>

#include "orchestrator/host_registry.hpp"
#include "orchestrator/serve_daemon.hpp"
#include "rollout/refusal.hpp"

namespace patchwave::orchestrator {

Status ServeDaemon::announce_refusals(Home& home, const rollout::StatusRecord& status) {
    const std::string agent = rollout::to_hex(status.agent);
    std::optional<std::string> host;  // looked up once, only when there is news
    for (const rollout::Refusal& refusal : status.refused) {
        const std::string rollout_id = rollout::subject_rollout(refusal.subject).value_or("");
        const std::string key = EventRecorder::refused_key(agent, refusal.subject, refusal.reason);
        if (events_->announced(rollout_id, key)) continue;
        if (!host) {
            auto hosts = known_hosts(home.db());
            if (!hosts) return std::unexpected(hosts.error());
            host = agent.substr(0, 12);
            for (const auto& known : *hosts) {
                if (known.certificate.agent_id() != status.agent) continue;
                host = known.certificate.host;
                break;
            }
        }
        Event event;
        event.time = now();
        event.kind = event_kind::refused;
        event.rollout_id = rollout_id;
        event.actor = *host;
        event.reason = refusal.reason;
        event.details = {{"agent", agent},
                         {"host", *host},
                         {"subject", refusal.subject},
                         {"count", refusal.count},
                         {"first", format_timestamp(refusal.first)},
                         {"last", format_timestamp(refusal.last)}};
        if (auto ok = events_->record(home.db(), std::move(event), key); !ok) return ok;
    }
    return {};
}

}  // namespace patchwave::orchestrator
