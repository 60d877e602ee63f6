#include "net/gossip/membership.hpp"

#include <algorithm>

namespace patchwave::net::gossip {

namespace {

std::uint64_t id_hash(const MemberId& id) {
    std::uint64_t hash = 0;
    for (std::size_t i = 0; i < 8; ++i)
        hash = (hash << 8) | id[i];
    // Mixed once more: ids in tests are often small patterns, not real hashes.
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdull;
    hash ^= hash >> 33;
    return hash;
}

}  // namespace

std::size_t MemberIdHash::operator()(const MemberId& id) const noexcept {
    return static_cast<std::size_t>(id_hash(id));
}

// ---- IdIndex -------------------------------------------------------------

std::size_t IdIndex::home(const MemberId& id) const {
    return id_hash(id) & (table_.size() - 1);
}

std::optional<std::uint32_t> IdIndex::find(const MemberId& id, const std::vector<Member>& members) const {
    if (table_.empty()) return std::nullopt;
    const std::size_t mask = table_.size() - 1;
    // Bounded by the table size; the load factor (at most 1/2) keeps runs short.
    for (std::size_t i = home(id), probes = 0; probes < table_.size(); i = (i + 1) & mask, ++probes) {
        if (table_[i] == 0) return std::nullopt;
        if (members[table_[i] - 1].id == id) return table_[i] - 1;
    }
    return std::nullopt;
}

void IdIndex::insert(const MemberId& id, std::uint32_t slot, const std::vector<Member>& members) {
    if (2 * (used_ + 1) > table_.size()) {
        // Rebuilding indexes every member, the new one included (it is
        // already in `members`).
        rebuild(members);
        return;
    }
    if (find(id, members)) return;
    std::size_t i = home(id);
    while (table_[i] != 0)
        i = (i + 1) & (table_.size() - 1);
    table_[i] = slot + 1;
    ++used_;
}

void IdIndex::update(const MemberId& id, std::uint32_t slot, const std::vector<Member>& members) {
    const std::size_t mask = table_.size() - 1;
    for (std::size_t i = home(id), probes = 0; probes < table_.size(); i = (i + 1) & mask, ++probes) {
        if (table_[i] == 0) return;
        if (members[table_[i] - 1].id == id) {
            table_[i] = slot + 1;
            return;
        }
    }
}

void IdIndex::erase(const MemberId& id, const std::vector<Member>& members) {
    const std::size_t mask = table_.size() - 1;
    std::size_t i = home(id);
    std::size_t probes = 0;
    for (; probes < table_.size(); i = (i + 1) & mask, ++probes) {
        if (table_[i] == 0) return;
        if (members[table_[i] - 1].id == id) break;
    }
    if (probes == table_.size()) return;
    // Backward-shift deletion keeps every remaining id reachable from its home.
    table_[i] = 0;
    --used_;
    for (std::size_t j = (i + 1) & mask; table_[j] != 0; j = (j + 1) & mask) {
        std::size_t want = home(members[table_[j] - 1].id);
        bool movable = (i <= j) ? (want <= i || want > j) : (want <= i && want > j);
        if (movable) {
            table_[i] = table_[j];
            table_[j] = 0;
            i = j;
        }
    }
}

void IdIndex::rebuild(const std::vector<Member>& members) {
    std::size_t capacity = 16;
    while (capacity < 2 * (members.size() + 1))
        capacity *= 2;
    table_.assign(capacity, 0);
    used_ = 0;
    for (std::uint32_t slot = 0; slot < members.size(); ++slot) {
        std::size_t i = home(members[slot].id);
        while (table_[i] != 0)
            i = (i + 1) & (capacity - 1);
        table_[i] = slot + 1;
        ++used_;
    }
}

// ---- MemberList ----------------------------------------------------------

MemberList::MemberList(const MemberEntry& self, std::uint32_t now_s) : self_id_(self.id) {
    (void)add(self, now_s);
}

const Member* MemberList::find(const MemberId& id) const {
    auto slot = index_.find(id, members_);
    return slot ? &members_[*slot] : nullptr;
}

Status MemberList::add(const MemberEntry& entry, std::uint32_t now_s) {
    if (index_.find(entry.id, members_)) return fail(Errc::already_exists, "member already known");
    Member member;
    member.id = entry.id;
    member.address = entry.address;
    member.incarnation = entry.incarnation;
    member.state = entry.state;
    member.roles = entry.roles;
    member.state_since_s = now_s;
    members_.push_back(member);
    index_.insert(entry.id, static_cast<std::uint32_t>(members_.size() - 1), members_);
    if (member.live()) ++live_;
    set_hint(entry.id, entry.hint);
    return {};
}

void MemberList::set_state(Member& member, MemberState state, std::uint32_t now_s) {
    if (member.state == state) return;
    if (member.live()) --live_;
    member.state = state;
    member.state_since_s = now_s;
    if (member.live()) ++live_;
}

void MemberList::set_hint(const MemberId& id, const PeerHint& hint) {
    if (hint.empty()) {
        hints_.erase(id);
    } else {
        hints_[id] = hint;
    }
}

Outcome MemberList::apply_alive(const MemberEntry& entry, std::uint32_t now_s) {
    auto slot = index_.find(entry.id, members_);
    if (!slot) return Outcome::ignored;
    Member& member = members_[*slot];
    if (entry.id == self_id_) {
        // Our own news echoing back is harmless; a higher incarnation claimed
        // for us by someone else (an old instance of us) must be overtaken.
        return entry.incarnation > member.incarnation ? Outcome::refute : Outcome::ignored;
    }
    if (entry.incarnation <= member.incarnation) return Outcome::ignored;
    member.incarnation = entry.incarnation;
    member.address = entry.address;
    member.roles = entry.roles;
    set_state(member, MemberState::alive, now_s);
    set_hint(entry.id, entry.hint);
    return Outcome::changed;
}

Outcome MemberList::apply_suspect(const SuspectItem& item, std::uint32_t now_s) {
    auto slot = index_.find(item.id, members_);
    if (!slot) return Outcome::ignored;
    Member& member = members_[*slot];
    if (item.incarnation < member.incarnation) return Outcome::ignored;
    if (member.state == MemberState::suspect && item.id != self_id_) {
        if (item.incarnation > member.incarnation) member.incarnation = item.incarnation;
        return Outcome::confirmed;
    }
    if (member.state != MemberState::alive) return Outcome::ignored;
    if (item.id == self_id_) return Outcome::refute;
    member.incarnation = item.incarnation;
    set_state(member, MemberState::suspect, now_s);
    return Outcome::changed;
}

Outcome MemberList::apply_dead(const DeadItem& item, std::uint32_t now_s) {
    auto slot = index_.find(item.id, members_);
    if (!slot) return Outcome::ignored;
    Member& member = members_[*slot];
    if (item.incarnation < member.incarnation || !member.live()) return Outcome::ignored;
    if (item.id == self_id_) return Outcome::refute;
    member.incarnation = item.incarnation;
    set_state(member, item.accuser == item.id ? MemberState::left : MemberState::dead, now_s);
    return Outcome::changed;
}

void MemberList::refute_self(std::uint32_t accused_incarnation) {
    Member& self = members_[*index_.find(self_id_, members_)];
    self.incarnation = std::max(self.incarnation, accused_incarnation) + 1;
    set_state(self, MemberState::alive, self.state_since_s);
}

void MemberList::update_self(std::uint8_t roles, const PeerHint& hint) {
    Member& self = members_[*index_.find(self_id_, members_)];
    self.roles = roles;
    ++self.incarnation;
    set_hint(self_id_, hint);
}

void MemberList::mark_self_left(std::uint32_t now_s) {
    Member& self = members_[*index_.find(self_id_, members_)];
    set_state(self, MemberState::left, now_s);
}

void MemberList::remove(const MemberId& id) {
    if (id == self_id_) return;
    auto slot = index_.find(id, members_);
    if (!slot) return;
    if (members_[*slot].live()) --live_;
    hints_.erase(id);
    index_.erase(id, members_);
    const std::uint32_t last = static_cast<std::uint32_t>(members_.size() - 1);
    if (*slot != last) {
        members_[*slot] = members_[last];
        index_.update(members_[*slot].id, *slot, members_);
    }
    members_.pop_back();
}

void MemberList::shuffle(Rng& rng) {
    for (std::size_t i = members_.size(); i > 1; --i) {
        std::size_t j = rng.below(i);
        std::swap(members_[i - 1], members_[j]);
    }
    index_.rebuild(members_);
}

std::vector<std::uint32_t> MemberList::random_slots(std::size_t k, Rng& rng,
                                                    const std::function<bool(const Member&)>& accept) const {
    std::vector<std::uint32_t> picked;
    const std::size_t n = members_.size();
    if (n <= 1 || k == 0) return picked;
    for (std::size_t draw = 0; draw < 3 * n && picked.size() < k; ++draw) {
        auto slot = static_cast<std::uint32_t>(rng.below(n));
        const Member& member = members_[slot];
        if (member.id == self_id_ || !accept(member)) continue;
        if (std::find(picked.begin(), picked.end(), slot) != picked.end()) continue;
        picked.push_back(slot);
    }
    return picked;
}

const PeerHint* MemberList::hint(const MemberId& id) const {
    auto it = hints_.find(id);
    return it == hints_.end() ? nullptr : &it->second;
}

MemberEntry MemberList::entry(std::size_t slot) const {
    const Member& member = members_[slot];
    MemberEntry entry;
    entry.id = member.id;
    entry.incarnation = member.incarnation;
    entry.state = member.state;
    entry.address = member.address;
    entry.roles = member.roles;
    if (const PeerHint* hint = this->hint(member.id)) entry.hint = *hint;
    return entry;
}

}  // namespace patchwave::net::gossip
