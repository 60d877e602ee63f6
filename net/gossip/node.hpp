// One gossip member: SWIM failure detection, piggybacked dissemination and
// push-pull anti-entropy of verified records, over the Transport/Clock/RecordVerifier seams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/error.hpp"
#include "net/gossip/broadcast_queue.hpp"
#include "net/gossip/clock.hpp"
#include "net/gossip/config.hpp"
#include "net/gossip/membership.hpp"
#include "net/gossip/message.hpp"
#include "net/gossip/record_store.hpp"
#include "net/gossip/rng.hpp"
#include "net/gossip/stream_message.hpp"
#include "net/gossip/suspicion.hpp"
#include "net/gossip/transport.hpp"
#include "net/gossip/verifier.hpp"

namespace patchwave::net::gossip {

/// Counters for benchmarks and health output. Bytes are the core's bytes
/// (before any encryption or UDP/TCP/IP headers).
struct NodeStats {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagram_bytes_sent = 0;
    std::uint64_t exchanges_started = 0;
    std::uint64_t stream_bytes_sent = 0;  ///< requests sent and replies given
    std::uint64_t malformed = 0;          ///< datagrams or stream messages that did not decode
    std::uint64_t records_refused = 0;    ///< the verifier or a cap said no
    std::uint64_t members_refused = 0;    ///< certificates the verifier refused
    std::uint64_t suspicions = 0;         ///< members this node suspected itself
    std::uint64_t refutations = 0;        ///< times this node refuted news of its own failure
};

/// A change in another member's state as this node sees it.
struct MemberEvent {
    MemberId id{};
    MemberState state = MemberState::alive;
    Address address;
};

/// One member of the fleet. Single-threaded: every call, timer and transport
/// callback must come from the node's event loop. The transport and clock
/// must outlive the node; the node detaches itself from both when destroyed.
class Node final : private TransportHandler {
public:
    /// Admits this member through `verifier` like any other (its own
    /// certificate must verify) and attaches to the transport. Does not start.
    static Result<std::unique_ptr<Node>> create(NodeConfig config, Transport& transport, Clock& clock,
                                                RecordVerifier& verifier);
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    /// Starts probing, gossip and anti-entropy, alone until others join.
    void start();
    /// Starts, then asks the seeds in order to admit this member; `done`
    /// runs once: ok when one answered with its state, the last error otherwise.
    void join(std::vector<Address> seeds, std::function<void(Status)> done);
    /// Tells a few members this node leaves, then stops.
    void leave();
    /// Stops every timer; to the fleet this looks like a crash.
    void stop();

    /// Stores a record this member publishes (it must verify like any
    /// other) and spreads it: to every member for fleet records, to the
    /// collectors for upstream ones. Errc::state when a version at or above
    /// it is already held.
    Status publish(RecordHeader header, Bytes envelope);
    /// Adds a member known out of band (a saved member list, or the
    /// simulator's warm start) once its certificate verifies; nothing is
    /// gossiped. Errc::already_exists when known, the verifier's error when
    /// refused, Errc::untrusted when the certificate names another member.
    Status seed_member(const MemberEntry& entry, ByteView certificate);
    /// Advertises a new peer hint (bumps this member's incarnation).
    Status set_hint(PeerHint hint);
    /// Drops the stored records the verifier no longer trusts
    /// (RecordVerifier::still_trusted), e.g. after a root rotation revoked
    /// the key that signed them; returns their headers with the reason. A
    /// lower version signed by trusted keys is then taken like a new record.
    std::vector<std::pair<RecordHeader, Error>> drop_untrusted_records();

    const MemberId& id() const { return members_.self_id(); }
    const MemberList& members() const { return members_; }
    const RecordStore& records() const { return store_; }
    const NodeStats& stats() const { return stats_; }
    std::uint32_t awareness() const { return awareness_.score(); }
    bool running() const { return running_; }
    /// News waiting to be piggybacked (a health signal: a long queue means
    /// more changes than gossip bandwidth).
    std::size_t queued_broadcasts() const { return queue_.size() + record_queue_.size(); }
    /// Live members advertising `bundle`, with their swarm endpoints.
    std::vector<std::pair<MemberId, Address>> peers_seeding(const rollout::BundleId& bundle) const;

    /// Called after a record is stored (received or published).
    std::function<void(const RecordPtr&)> on_record;
    /// Called when another member's state changes.
    std::function<void(const MemberEvent&)> on_member;
    /// Called when a record another member offered is refused (the verifier
    /// or a cap said no; counted in records_refused), with the header it
    /// claimed and why. Versions not above the one held are dropped as stale
    /// before anything is checked and never reach this: lagging members send
    /// those in normal operation.
    std::function<void(const RecordHeader&, const Error&)> on_refused;

private:
    Node(NodeConfig config, Transport& transport, Clock& clock, RecordVerifier& verifier, const MemberEntry& self);

    // TransportHandler
    void on_datagram(const Address& from, ByteView bytes) override;
    Bytes on_exchange(const Address& from, ByteView request) override;

    // node.cpp: timers and sending
    std::uint32_t now_s() const;
    TimerId after(Micros delay, std::function<void()> action);
    Micros push_pull_period() const;
    void cancel_all_timers();
    void send(const Address& to, const Primary& primary);
    void exchange(const Address& to, const StreamMessage& message, std::function<void(Result<StreamMessage>)> on_reply);
    Bytes reply_bytes(const StreamMessage& message);
    std::size_t fleet_size() const { return members_.live_count(); }
    std::uint32_t transmit_limit() const;
    void broadcast(Subject subject, const Item& item);
    /// Fills a datagram with queued news, records first; the number of items added.
    std::size_t piggyback(DatagramBuilder& builder);
    void gossip_tick();
    void maintenance_tick();
    void forget(const MemberId& id);
    void notify_member(const Member& member);

    // node_probe.cpp: SWIM failure detection and membership news
    void probe_tick();
    void probe_timeout();
    void probe_end();
    void probe_over_stream(const Member& target);
    void handle_ping(const Address& from, const Ping& ping);
    void handle_ping_req(const Address& from, const PingReq& request);
    void handle_ack(const Ack& ack);
    void handle_nack(const Nack& nack);
    void handle_alive(const MemberEntry& entry, const Address& source);
    void handle_suspect(const SuspectItem& item);
    void handle_dead(const DeadItem& item);
    void start_suspicion(const Member& member, const MemberId& accuser);
    void suspicion_expired(const MemberId& id);
    void cancel_suspicion(const MemberId& id);
    void refute(std::uint32_t accused_incarnation);

    // node_sync.cpp: records, push-pull, admission, upstream delivery
    void handle_item(const Item& item, const Address& from);
    void handle_record(const RecordPtr& record);
    void record_stored(const RecordPtr& record);
    bool wants(const RecordHeader& header) const;
    void fetch_records(const Address& from, std::vector<RecordHeader> headers);
    /// This node's state for a push-pull: members only with `with_members`;
    /// others' upstream records only for a collector peer (nobody else wants them).
    State local_state(bool with_members, bool peer_is_collector) const;
    void merge_state(const State& state, const Address& peer);
    void push_pull_tick();
    void reconnect_tick();
    void push_pull_with(const Member& peer, bool with_members);
    void record_sync_tick();
    void admit_later(const MemberEntry& entry, const Address& source);
    void fetch_certificates(const Address& source);
    void admit(const Certificates& certificates);
    void join_next(std::shared_ptr<std::vector<Address>> seeds, std::size_t next,
                   std::shared_ptr<std::function<void(Status)>> done, std::optional<Error> last);
    Bytes handle_join(const JoinRequest& request);
    Bytes handle_fetch_records(const FetchRecords& request);
    Bytes handle_delivery(const Records& delivery);
    void deliver_upstream(const RecordKey& key);
    void schedule_upstream(const RecordKey& key, Micros delay);

    struct ActiveSuspicion {
        Suspicion suspicion;
        TimerId timer = 0;
    };
    struct Probe {
        std::uint32_t seq = 0;
        MemberId target{};
        bool acked = true;  // true: no probe in flight
        std::uint32_t expected_nacks = 0;
        std::uint32_t nacks = 0;
        TimerId timeout_timer = 0;
        TimerId end_timer = 0;
    };
    struct Relay {
        Address requester;
        std::uint32_t requester_seq = 0;
        TimerId timer = 0;
    };
    struct PendingMember {
        MemberEntry entry;
        Address source;
        bool fetching = false;
    };
    struct Upstream {
        std::uint64_t version = 0;
        std::vector<MemberId> held_by;  // collectors that confirmed this version
        std::uint32_t attempt = 0;
        TimerId timer = 0;
    };

    NodeConfig config_;
    Transport& transport_;
    Clock& clock_;
    RecordVerifier& verifier_;
    Rng rng_;
    MemberList members_;
    RecordStore store_;
    BroadcastQueue queue_;         // membership news
    BroadcastQueue record_queue_;  // record news: rarer, and what the fleet is for, so sent first
    Awareness awareness_;
    NodeStats stats_;
    bool running_ = false;
    // Callbacks hold a weak reference: replies and timers that outlive the node do nothing.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

    std::uint32_t next_seq_ = 1;
    std::size_t probe_index_ = 0;
    Probe probe_;
    std::unordered_map<std::uint32_t, Relay> relays_;
    std::unordered_map<MemberId, ActiveSuspicion, MemberIdHash> suspicions_;
    std::vector<MemberId> dead_order_;  // dead or left members, oldest first (may hold stale ids)
    std::unordered_map<MemberId, PendingMember, MemberIdHash> pending_;
    std::unordered_set<RecordKey, RecordKeyHash> fetching_;
    std::size_t exchanges_in_flight_ = 0;
    std::unordered_map<RecordKey, Upstream, RecordKeyHash> upstream_;
    TimerId gossip_timer_ = 0;
    TimerId probe_timer_ = 0;
    TimerId push_pull_timer_ = 0;
    TimerId record_sync_timer_ = 0;
    TimerId reconnect_timer_ = 0;
    TimerId maintenance_timer_ = 0;
};

}  // namespace patchwave::net::gossip
