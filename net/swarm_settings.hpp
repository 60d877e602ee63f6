// The libtorrent policy of a Patchwave swarm: the settings_pack built from a
// SwarmConfig and the peer-class rules that make rate limits bind every peer.
#pragma once

#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>

#include "net/swarm_config.hpp"

namespace patchwave::net {

/// Largest torrent metadata (info dictionary) a peer may send us.
inline constexpr int kMaxMetadataSize = 4 * 1024 * 1024;

/// The settings a session starts with. Every libtorrent default that is wrong
/// for a private fleet is overridden here, each with its reason beside it.
libtorrent::settings_pack make_settings_pack(const SwarmConfig& config);

/// Puts every IPv4 and IPv6 address in the global peer class only. By
/// default libtorrent puts 127/8, 10/8, 172.16/12, 192.168/16 (and v6 local
/// ranges) in its *local* class, which has no rate limit and ignores unchoke
/// slots: the fleet's LAN peers would escape every limit. Also takes the
/// exemptions off the local class itself, should any peer still land there.
void apply_peer_class_policy(libtorrent::session& session);

}  // namespace patchwave::net
