// One process's membership of the fleet: a gossip Node on the real transport, checked by a
// RolloutVerifier, and a Swarm whose bundles are advertised in the node's peer hint.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/trust_root.hpp"
#include "net/gossip/asio/asio_clock.hpp"
#include "net/gossip/asio/udp_tcp_transport.hpp"
#include "net/gossip/config.hpp"
#include "net/gossip/node.hpp"
#include "net/gossip/rollout_verifier.hpp"
#include "net/swarm.hpp"
#include "rollout/endpoint.hpp"
#include "rollout/ids.hpp"

namespace patchwave::net {

struct FleetMemberConfig {
    /// Gossip timing and caps. certificate, collector and hint are filled in
    /// by FleetMember (anything set there is overwritten).
    gossip::NodeConfig node;
    /// UDP+TCP gossip address: an IP address (v4 or v6, no host name); port 0
    /// picks a free one (see gossip_address()).
    rollout::Endpoint gossip_listen{"0.0.0.0", 7946, rollout::Endpoint::Kind::ipv4};
    /// The address other members reach this one at. Required when
    /// gossip_listen is a wildcard (0.0.0.0 or ::); an IP address. Its IP is
    /// also advertised for the swarm when the swarm listens on a wildcard.
    std::optional<rollout::Endpoint> advertise;
    /// Members to join through, tried in order. Host names are resolved at
    /// each attempt (so a seed whose address changes is found again). May be
    /// empty: the first member of a fleet, or the orchestrator.
    std::vector<rollout::Endpoint> seeds;
    /// The fleet key file ("<id>:<64 hex>", see gossip/asio/fleet_key.hpp);
    /// empty = gossip is not encrypted.
    std::filesystem::path fleet_key_file;
    /// Receives status records (upstream scope): the orchestrator and the test origin.
    bool collector = false;
    /// The swarm session (listen address/port, limits, state_dir for resume data).
    SwarmConfig swarm;
    /// Swarm callbacks, passed through (ready/evicted/failed also update the
    /// peer hint before they are called). Run on the io_context.
    SwarmEvents swarm_events;
    /// Verified fleet records (root, manifest, control, certificate) are saved
    /// here as they are stored, atomically, one file per record key
    /// ("manifest-<rollout>.env", "control-<rollout>.env", "root-v<N>.env",
    /// "certificate-<agent hex>.env"), and re-offered by join(), so a restarted
    /// member acts on them before gossip catches up. Created if missing.
    /// Empty = nothing persisted. Status records are never saved here.
    std::filesystem::path records_dir;
    /// How often fetches in progress look at the peer hints again for new
    /// members seeding their bundle (also done whenever a member appears).
    std::chrono::milliseconds peer_refresh_interval{1000};
    /// join() retries: the wait after a round where no seed answered doubles
    /// from join_retry_min up to join_retry_max.
    std::chrono::milliseconds join_retry_min{500};
    std::chrono::milliseconds join_retry_max{30'000};
};

/// A joined member. Single-threaded: every call and every callback is on the
/// io_context's thread. Destroying it stops it (see stop()).
class FleetMember {
public:
    /// Loads nothing but the fleet key: the caller passes the pinned trust
    /// root (already verified) and this member's certificate envelope bytes
    /// (its agent id becomes the member id; it must verify against `root`).
    /// `now` is wall-clock time for expiry checks. Opens the gossip transport
    /// and starts the swarm, but does not start gossip: call join().
    /// Errc::io naming the address when one cannot be bound,
    /// Errc::invalid_argument for a bad address or config, the verifier's
    /// error when the certificate is refused.
    static Result<std::unique_ptr<FleetMember>> start(boost::asio::io_context& io, FleetMemberConfig config,
                                                      crypto::TrustRoot root, gossip::Bytes certificate,
                                                      std::function<Timestamp()> now);
    ~FleetMember();
    FleetMember(const FleetMember&) = delete;
    FleetMember& operator=(const FleetMember&) = delete;

    /// Re-offers the records saved in records_dir (on_root and on_record run
    /// for those that still verify; expired, superseded or broken files are
    /// deleted), starts gossip, then asks the seeds to admit this member,
    /// retrying with backoff until one answers. `done` runs once, from the
    /// io_context, never inline, with ok: when a seed answered (at once when
    /// there are no seeds). It never runs when stop() ends the retries first.
    /// Failures are logged at the first attempt and then only every tenth.
    /// Call once, after setting the callbacks below.
    void join(std::function<void(Status)> done);

    /// Publishes any signed record (root, manifest, control, certificate,
    /// status envelope). The gossip header is derived from the document:
    /// the type from the envelope type; the rollout id and version or
    /// sequence for manifests and controls; the agent id and sequence for
    /// status; the agent id and issue time for certificates; the version for
    /// roots. It must verify like any received record. Errc::parse for an
    /// envelope that does not decode or an unknown type, Errc::state when
    /// that version or a newer one is already held, the verifier's error otherwise.
    Status publish(gossip::ByteView envelope);

    /// Every record stored, received or published (after it was saved to
    /// records_dir and, for a root, adopted).
    std::function<void(const gossip::RecordPtr&)> on_record;
    /// A newer trust root verified and was adopted (the verifier now checks
    /// against it). The caller should save it as its pinned root; the
    /// envelope is the exact signed bytes.
    std::function<void(const crypto::TrustRoot&, gossip::ByteView envelope)> on_root;
    /// Another member's state changed (alive, suspect, dead, left).
    std::function<void(const gossip::MemberEvent&)> on_member;
    /// A record another member offered was refused (see gossip::Node::on_refused):
    /// the header it claimed and the verifier's error.
    std::function<void(const gossip::RecordHeader&, const Error&)> on_refused;

    /// Seeds a bundle directory (see Swarm::seed) and advertises it in the
    /// peer hint. The hint holds the PeerHint::kMaxSeeding most recently
    /// seeded or fetched bundles; older ones are still seeded, not advertised.
    Result<rollout::BundleId> seed(const std::filesystem::path& directory, SeedOptions options = {});
    /// Fetches a bundle (see Swarm::fetch) from the peers that advertise it
    /// now, plus options.peers; members that advertise it later are added as
    /// they appear. Once ready it is advertised like a seed.
    Status fetch(const rollout::BundleId& id, const std::filesystem::path& staging, FetchOptions options = {});
    /// Stops seeding or fetching `id` and drops it from the hint; files stay.
    /// Errc::not_found when the swarm does not hold it.
    Status forget(const rollout::BundleId& id);
    /// The bundles advertised in the peer hint right now, oldest first.
    std::vector<rollout::BundleId> advertised() const;

    /// Leaves gossip (tells a few members) and stops the swarm, in under 2 s.
    /// join()'s retries end; no callback runs afterwards. Idempotent.
    void stop();

    gossip::Node& node() { return *node_; }
    Swarm& swarm() { return *swarm_; }
    /// The trust root records are checked against now (the pinned one, or a newer adopted one).
    const crypto::TrustRoot& root() const { return verifier_->root(); }
    /// This member's id (its agent id).
    const gossip::MemberId& id() const { return node_->id(); }
    /// Where others reach this member's gossip, and its swarm.
    Endpoint gossip_address() const;
    Endpoint swarm_endpoint() const;
    /// Other members by state as this member sees them (itself not counted),
    /// indexed by gossip::MemberState: alive, suspect, dead, left.
    std::array<std::size_t, 4> member_counts() const;

private:
    FleetMember(boost::asio::io_context& io, FleetMemberConfig config, crypto::TrustRoot root,
                std::function<Timestamp()> now);

    // fleet_member.cpp
    void handle_record(const gossip::RecordPtr& record);
    void advertise(const rollout::BundleId& id);
    void unadvertise(const rollout::BundleId& id);
    Status publish_hint();
    void refresh_peers();
    void schedule_refresh();
    void update_origins();
    // fleet_join.cpp
    void join_attempt(std::shared_ptr<std::function<void(Status)>> done, std::chrono::milliseconds wait,
                      std::uint32_t attempt);
    // fleet_records.cpp
    void restore_records();
    void save_record(const gossip::Record& record);
    void drop_superseded_roots(std::uint64_t adopted_version);
    void drop_untrusted_records();  // after a rotation: what revoked keys signed, stored and saved

    boost::asio::io_context& io_;
    FleetMemberConfig config_;
    std::function<Timestamp()> now_;
    gossip::asio_impl::AsioClock clock_;
    std::unique_ptr<gossip::asio_impl::UdpTcpTransport> transport_;
    std::unique_ptr<gossip::RolloutVerifier> verifier_;
    std::unique_ptr<gossip::Node> node_;
    std::unique_ptr<Swarm> swarm_;
    Endpoint hint_endpoint_;
    std::deque<rollout::BundleId> advertised_;                  // oldest first; at most PeerHint::kMaxSeeding
    std::map<rollout::BundleId, std::set<Endpoint>> fetching_;  // peers already handed to the swarm
    boost::asio::steady_timer refresh_timer_;
    boost::asio::steady_timer join_timer_;
    std::uint32_t refreshes_ = 0;
    bool refresh_scheduled_ = false;
    bool restoring_ = false;  // re-offering saved records: they are on disk already
    bool stopped_ = false;
    // Handlers that outlive this object (posted, timers) check it first.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// The gossip header a signed record travels under, from its envelope type and
/// (unverified) body: what publish() uses. Errc::parse naming the field.
Result<gossip::RecordHeader> record_header_of(gossip::ByteView envelope);

/// An IP address endpoint (no host name) as the swarm/asio endpoint type.
/// Errc::invalid_argument naming the text for a host name.
Result<Endpoint> to_ip_endpoint(const rollout::Endpoint& endpoint);

}  // namespace patchwave::net
