// The metrics both daemons share: gossip members by state, records refused,
// and swarm payload bytes by the kind of peer (the origin, or other peers).
#pragma once

#include "common/metrics_text.hpp"
#include "net/fleet/fleet_member.hpp"

namespace patchwave::net {

/// Adds the patchwave_gossip_* and patchwave_swarm_* families for `member`.
void write_fleet_metrics(MetricsText& text, FleetMember& member);

}  // namespace patchwave::net
