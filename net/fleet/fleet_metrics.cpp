#include "net/fleet/fleet_metrics.hpp"

namespace patchwave::net {

void write_fleet_metrics(MetricsText& text, FleetMember& member) {
    const auto counts = member.member_counts();
    text.family("patchwave_gossip_members", MetricType::gauge,
                "Other fleet members by state as this member's gossip sees them (dead and left ones are "
                "forgotten after a while).");
    for (const auto state : {gossip::MemberState::alive, gossip::MemberState::suspect, gossip::MemberState::dead,
                             gossip::MemberState::left}) {
        text.sample(static_cast<double>(counts[static_cast<std::size_t>(state)]),
                    {{"state", std::string(gossip::to_string(state))}});
    }
    text.family("patchwave_gossip_records_refused_total", MetricType::counter,
                "Records other members offered that the verifier or a size cap refused.");
    text.sample(static_cast<double>(member.node().stats().records_refused));

    const SwarmTraffic traffic = member.swarm().traffic();
    text.family("patchwave_swarm_received_bytes_total", MetricType::counter,
                "Bundle payload bytes received, by sender: the origin (the orchestrator's seed) or other peers.");
    text.sample(static_cast<double>(traffic.received_from_origin), {{"from", "origin"}});
    text.sample(static_cast<double>(traffic.received_from_peers), {{"from", "peers"}});
    text.family("patchwave_swarm_sent_bytes_total", MetricType::counter,
                "Bundle payload bytes sent, by receiver: the origin or other peers (everything the orchestrator "
                "sends goes to peers).");
    text.sample(static_cast<double>(traffic.sent_to_origin), {{"to", "origin"}});
    text.sample(static_cast<double>(traffic.sent_to_peers), {{"to", "peers"}});
    text.family("patchwave_swarm_bundles", MetricType::gauge, "Bundles in this member's swarm (seeding or fetching).");
    text.sample(static_cast<double>(member.swarm().bundles().size()));
}

}  // namespace patchwave::net
