#include "orchestrator/fleet_view.hpp"

#include "orchestrator/host_registry.hpp"
#include "orchestrator/status_store.hpp"

namespace patchwave::orchestrator {

Result<std::vector<rollout::HostView>> load_host_views(Database& db) {
    auto hosts = known_hosts(db);
    if (!hosts) return std::unexpected(hosts.error());
    auto statuses = load_statuses(db);
    if (!statuses) return std::unexpected(statuses.error());
    std::vector<rollout::HostView> views;
    views.reserve(hosts->size());
    for (const auto& host : *hosts) {
        rollout::HostView view;
        view.agent = host.certificate.agent_id();
        view.host = host.certificate.host;
        view.labels = host.certificate.labels;
        if (auto found = statuses->find(rollout::to_hex(view.agent)); found != statuses->end()) {
            view.status = std::move(found->second.record);
            view.last_heard = found->second.received;
        }
        views.push_back(std::move(view));
    }
    return views;
}

}  // namespace patchwave::orchestrator
