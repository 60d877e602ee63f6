// Everything a gossip node is tuned by: identity, timing (memberlist's LAN
// profile, 200 ms gossip), fanout and caps. Defaults are what the agent runs.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "common/error.hpp"
#include "net/gossip/clock.hpp"
#include "net/gossip/peer_hints.hpp"
#include "net/gossip/record.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip {

struct NodeConfig {
    // ---- identity ----
    /// This member's certificate envelope; its agent id is the member id.
    /// Presented when joining; the node admits itself through the verifier too.
    Bytes certificate;
    /// Receives upstream records (status): the orchestrator sets it.
    bool collector = false;
    /// Advertised for the swarm (endpoint and seeded bundles).
    PeerHint hint;
    /// Seeds every random choice the node makes.
    std::uint64_t seed = 1;

    // ---- failure detection (SWIM + Lifeguard) ----
    Micros probe_interval = std::chrono::seconds(1);
    /// How long a direct ping waits for its ack before indirect probes go out.
    Micros probe_timeout = std::chrono::milliseconds(500);
    /// Members asked to probe indirectly when the direct ping fails.
    std::size_t indirect_checks = 3;
    /// Suspicion lasts suspicion_mult * max(1, log10 n) * probe_interval at
    /// least, and suspicion_max_mult times that without confirmations.
    std::uint32_t suspicion_mult = 4;
    std::uint32_t suspicion_max_mult = 6;
    /// Local health (Lifeguard): timeouts stretch up to this factor when this
    /// node itself seems slow (missed nacks, refuted suspicions).
    std::uint32_t awareness_max = 8;
    /// A dead member is still gossiped to for this long (so it can refute),
    /// and remembered, then forgotten, after dead_retention.
    Micros gossip_to_dead = std::chrono::seconds(30);
    Micros dead_retention = std::chrono::minutes(10);
    /// Every interval, try a push-pull with one remembered dead member: this
    /// is what merges the two halves of a healed partition.
    Micros reconnect_interval = std::chrono::seconds(10);

    // ---- dissemination ----
    Micros gossip_interval = std::chrono::milliseconds(200);
    std::size_t gossip_fanout = 3;
    /// A broadcast is sent retransmit_mult * ceil(log10(n + 1)) times.
    std::uint32_t retransmit_mult = 4;
    /// The same for record news. Records are rare and matter: a higher
    /// multiplier makes a member the rumor misses (about 2% of 100-member
    /// runs at 30% loss with 4) vanishingly rare, for a few KB per record.
    std::uint32_t record_retransmit_mult = 8;
    /// Full state exchange with one random member, every interval scaled by
    /// fleet size as memberlist does (x1 up to 32 members, +1 per doubling).
    Micros push_pull_interval = std::chrono::seconds(30);
    /// Record-only anti-entropy (headers, no member list) with one random
    /// member: cheap, so frequent; it is what repairs a rumor that died out.
    Micros record_sync_interval = std::chrono::seconds(10);
    /// The payload budget of one datagram (the transport may allow less).
    std::size_t max_datagram_size = 1400;
    /// Records with an encoded item up to this size ride inline in gossip;
    /// bigger ones are gossiped as digests and fetched over a stream.
    std::size_t inline_record_limit = 1024;
    /// Upstream records are delivered to collectors after a random delay up
    /// to this (so a wave finishing at once does not arrive as one burst),
    /// retried with backoff from retry_min to retry_max until held.
    Micros upstream_jitter = std::chrono::milliseconds(500);
    Micros upstream_retry_min = std::chrono::seconds(1);
    Micros upstream_retry_max = std::chrono::seconds(30);
    Micros stream_timeout = std::chrono::seconds(10);
    /// Which record types every member stores, and which go to collectors only.
    std::array<RecordScope, kMaxRecordType + 1> scopes{RecordScope::fleet, RecordScope::fleet, RecordScope::fleet,
                                                       RecordScope::fleet, RecordScope::fleet, RecordScope::upstream};

    // ---- caps ----
    std::size_t max_records = 262'144;
    std::size_t max_record_bytes = 256u * 1024 * 1024;
    std::size_t max_broadcasts = 1024;
    /// Members heard of but not yet admitted (certificate being fetched).
    std::size_t max_pending_members = 1024;
    /// Record fetches and certificate fetches in flight at once.
    std::size_t max_fetches_in_flight = 16;

    RecordScope scope(RecordType type) const { return scopes[static_cast<std::size_t>(type)]; }
};

/// Errc::invalid_argument naming the first field out of range.
Status validate(const NodeConfig& config);

}  // namespace patchwave::net::gossip
