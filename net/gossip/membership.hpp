// The member list one node keeps, and SWIM's rules for changing it: alive,
// suspect and dead news ordered by incarnation, refutation, random choice of members.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "net/gossip/message.hpp"
#include "net/gossip/peer_hints.hpp"
#include "net/gossip/record.hpp"
#include "net/gossip/rng.hpp"

namespace patchwave::net::gossip {

/// One member as this node sees it. Kept to 64 bytes: a simulated fleet holds
/// n of these per node, so n^2 in one process.
struct Member {
    MemberId id{};
    Address address;
    std::uint32_t incarnation = 0;
    /// Node-clock seconds at which `state` was entered (dead members are
    /// forgotten dead_retention after it).
    std::uint32_t state_since_s = 0;
    MemberState state = MemberState::alive;
    std::uint8_t roles = 0;

    /// Alive or suspect: probed, gossiped to, counted in n.
    bool live() const { return state == MemberState::alive || state == MemberState::suspect; }
};
static_assert(sizeof(Member) <= 64, "a member entry is held n^2 times in a simulated fleet");

struct MemberIdHash {
    std::size_t operator()(const MemberId& id) const noexcept;
};

/// What applying a piece of membership news did.
enum class Outcome {
    ignored,    ///< old or redundant news: do not forward it
    changed,    ///< the member's state or incarnation changed: forward the news
    confirmed,  ///< a further accusation of an already suspected member
    refute,     ///< the news is about this node and must be refuted
};

/// Maps member ids to slots: open addressing over the ids' first eight
/// bytes (SHA-256 key ids, so already uniform), 8 bytes per member.
class IdIndex {
public:
    std::optional<std::uint32_t> find(const MemberId& id, const std::vector<Member>& members) const;
    void insert(const MemberId& id, std::uint32_t slot, const std::vector<Member>& members);
    void erase(const MemberId& id, const std::vector<Member>& members);
    /// Sets the slot of an id already present; the id must still be at its
    /// old slot in `members` (a move is recorded before the old slot changes).
    void update(const MemberId& id, std::uint32_t slot, const std::vector<Member>& members);
    void rebuild(const std::vector<Member>& members);

private:
    std::size_t home(const MemberId& id) const;

    std::vector<std::uint32_t> table_;  // slot + 1; 0 = empty
    std::size_t used_ = 0;
};

/// The member list, this node included (slot order is the probe order).
class MemberList {
public:
    explicit MemberList(const MemberEntry& self, std::uint32_t now_s);

    const MemberId& self_id() const { return self_id_; }
    const Member& self() const { return members_[*index_.find(self_id_, members_)]; }
    std::size_t size() const { return members_.size(); }
    const Member& at(std::size_t slot) const { return members_[slot]; }
    const Member* find(const MemberId& id) const;
    std::optional<std::uint32_t> slot_of(const MemberId& id) const { return index_.find(id, members_); }
    /// Members alive or suspect, this node included.
    std::size_t live_count() const { return live_; }

    /// Adds a member this node has admitted (its certificate verified), at
    /// the end of the probe order: each node is at its own place in its own
    /// shuffled order, so the fleet does not probe a newcomer all at once.
    /// Errc::already_exists when known.
    Status add(const MemberEntry& entry, std::uint32_t now_s);
    /// Alive news about a known member: newer incarnations win.
    Outcome apply_alive(const MemberEntry& entry, std::uint32_t now_s);
    /// Suspect news: an alive member at this or a newer incarnation becomes
    /// suspect; a suspect one counts it as a confirmation.
    Outcome apply_suspect(const SuspectItem& item, std::uint32_t now_s);
    /// Dead news: a live member at this or a newer incarnation dies (or has
    /// left, when it accused itself).
    Outcome apply_dead(const DeadItem& item, std::uint32_t now_s);
    /// This node's refutation: its incarnation goes above `accused`.
    void refute_self(std::uint32_t accused_incarnation);
    /// This node's own announcements (peer hint, roles): bumps its incarnation.
    void update_self(std::uint8_t roles, const PeerHint& hint);
    /// This node leaves: it declares itself left at its current incarnation.
    void mark_self_left(std::uint32_t now_s);

    /// Forgets a member (never this node). Slots of others may move.
    void remove(const MemberId& id);
    /// Shuffles the probe order (Fisher-Yates), keeping ids and slots in step.
    void shuffle(Rng& rng);

    /// Up to `k` distinct members, not this node, passing `accept`, chosen
    /// uniformly with a bounded number of draws (3 * size) as memberlist does.
    std::vector<std::uint32_t> random_slots(std::size_t k, Rng& rng,
                                            const std::function<bool(const Member&)>& accept) const;

    const PeerHint* hint(const MemberId& id) const;
    /// The gossip form of a member.
    MemberEntry entry(std::size_t slot) const;

private:
    void set_state(Member& member, MemberState state, std::uint32_t now_s);
    void set_hint(const MemberId& id, const PeerHint& hint);

    MemberId self_id_;
    std::vector<Member> members_;
    IdIndex index_;
    // Sparse: most simulated members advertise nothing, real ones a few bundles.
    std::unordered_map<MemberId, PeerHint, MemberIdHash> hints_;
    std::size_t live_ = 0;
};

}  // namespace patchwave::net::gossip
