// SWIM failure detection for Node: the probe cycle (direct ping, indirect
// pings through k members, Lifeguard nacks), suspicion, death and refutation.
#include "net/gossip/node.hpp"

namespace patchwave::net::gossip {

void Node::probe_tick() {
    probe_timer_ = after(config_.probe_interval, [this] { probe_tick(); });
    // A probe stretched by local health may outlast the interval: let it finish.
    if (!probe_.acked) return;
    std::optional<std::uint32_t> target;
    // Round-robin over a shuffled list (SWIM's bounded detection time); at
    // most one full pass, so a fleet of one never loops.
    for (std::size_t step = 0; step <= members_.size() && !target; ++step) {
        if (probe_index_ >= members_.size()) {
            members_.shuffle(rng_);
            probe_index_ = 0;
        }
        const Member& member = members_.at(probe_index_);
        if (member.id != id() && member.live()) target = static_cast<std::uint32_t>(probe_index_);
        ++probe_index_;
    }
    if (!target) return;
    const Member& member = members_.at(*target);
    probe_ = Probe{};
    probe_.seq = next_seq_++;
    probe_.target = member.id;
    probe_.acked = false;
    if (member.state == MemberState::suspect) {
        // Lifeguard's buddy system: tell a suspect directly that it is
        // suspected, so it refutes now instead of when the rumor reaches it.
        DatagramBuilder builder(Ping{probe_.seq, member.id, id()},
                                std::min(config_.max_datagram_size, transport_.max_datagram_size()));
        if (auto item = encode_item(SuspectItem{member.id, member.incarnation, id()})) builder.try_add(*item);
        piggyback(builder);
        Bytes bytes = std::move(builder).finish();
        ++stats_.datagrams_sent;
        stats_.datagram_bytes_sent += bytes.size();
        transport_.send_datagram(member.address, std::move(bytes));
    } else {
        send(member.address, Ping{probe_.seq, member.id, id()});
    }
    probe_.timeout_timer = after(awareness_.scale(config_.probe_timeout), [this] { probe_timeout(); });
    probe_.end_timer = after(awareness_.scale(config_.probe_interval), [this] { probe_end(); });
}

void Node::probe_timeout() {
    probe_.timeout_timer = 0;
    if (probe_.acked) return;
    const Member* target = members_.find(probe_.target);
    if (target == nullptr) return;
    const MemberId target_id = target->id;
    const Address target_address = target->address;
    auto relays = members_.random_slots(config_.indirect_checks, rng_, [&](const Member& member) {
        return member.state == MemberState::alive && member.id != target_id;
    });
    probe_.expected_nacks = static_cast<std::uint32_t>(relays.size());
    for (auto slot : relays)
        send(members_.at(slot).address, PingReq{probe_.seq, target_id, target_address});
    probe_over_stream(*target);
}

void Node::probe_over_stream(const Member& target) {
    // memberlist's TCP fallback: a stream retransmits what loss eats, so a
    // member behind a lossy path is not suspected for a few lost datagrams.
    // It must answer before the probe ends to count.
    const std::uint32_t seq = probe_.seq;
    const MemberId target_id = target.id;
    exchange(target.address, StreamPing{target_id, target.incarnation, false},
             [this, seq, target_id, address = target.address](Result<StreamMessage> reply) {
                 if (!reply) return;
                 auto* pong = std::get_if<Pong>(&*reply);
                 if (pong == nullptr || pong->self.id != target_id) return;
                 handle_alive(pong->self, address);
                 handle_ack(Ack{seq});
             });
}

void Node::probe_end() {
    probe_.end_timer = 0;
    if (probe_.acked) return;
    probe_.acked = true;
    if (probe_.timeout_timer != 0) clock_.cancel(probe_.timeout_timer);
    probe_.timeout_timer = 0;
    // Lifeguard: relays that could not even send a nack point at this
    // node's own network; with no relays, any failure counts against it.
    if (probe_.expected_nacks > 0) {
        if (probe_.nacks < probe_.expected_nacks)
            awareness_.apply(static_cast<int>(probe_.expected_nacks - probe_.nacks));
    } else {
        awareness_.apply(1);
    }
    const Member* target = members_.find(probe_.target);
    if (target == nullptr || !target->live()) return;
    ++stats_.suspicions;
    handle_suspect(SuspectItem{target->id, target->incarnation, id()});
}

void Node::handle_ping(const Address& from, const Ping& ping) {
    // A ping for someone else reached a reused address: stay silent, so the
    // prober does not take this process for the member it is looking for.
    if (ping.target != id()) return;
    send(from, Ack{ping.seq});
}

void Node::handle_ping_req(const Address& from, const PingReq& request) {
    // Relay only to members this node admitted, at the address it knows:
    // otherwise anyone could make the fleet send pings to arbitrary hosts.
    const Member* target = members_.find(request.target);
    if (target == nullptr || target->state == MemberState::left) return;
    const Address target_address = target->address;
    const std::uint32_t seq = next_seq_++;
    Relay relay;
    relay.requester = from;
    relay.requester_seq = request.seq;
    relay.timer = after(config_.probe_timeout, [this, seq] {
        auto it = relays_.find(seq);
        if (it == relays_.end()) return;
        // Lifeguard's nack: "I am alive, the target did not answer me".
        send(it->second.requester, Nack{it->second.requester_seq});
        relays_.erase(it);
    });
    relays_.emplace(seq, relay);
    send(target_address, Ping{seq, request.target, id()});
}

void Node::handle_ack(const Ack& ack) {
    if (!probe_.acked && ack.seq == probe_.seq) {
        probe_.acked = true;
        for (TimerId* timer : {&probe_.timeout_timer, &probe_.end_timer}) {
            if (*timer != 0) clock_.cancel(*timer);
            *timer = 0;
        }
        awareness_.apply(-1);
        return;
    }
    auto it = relays_.find(ack.seq);
    if (it == relays_.end()) return;
    clock_.cancel(it->second.timer);
    send(it->second.requester, Ack{it->second.requester_seq});
    relays_.erase(it);
}

void Node::handle_nack(const Nack& nack) {
    if (!probe_.acked && nack.seq == probe_.seq) ++probe_.nacks;
}

void Node::handle_alive(const MemberEntry& entry, const Address& source) {
    const Member* known = members_.find(entry.id);
    if (known == nullptr) {
        admit_later(entry, source);
        return;
    }
    const MemberState before = known->state;
    const Address before_address = known->address;
    switch (members_.apply_alive(entry, now_s())) {
        case Outcome::changed: {
            cancel_suspicion(entry.id);
            broadcast(subject_of_member(entry.id), AliveItem{entry});
            const Member& member = *members_.find(entry.id);
            if (before != MemberState::alive || before_address != member.address) notify_member(member);
            if (before != MemberState::alive && (member.roles & kRoleCollector) != 0) {
                // A collector is back: deliver what it may have missed now, not at the next backoff.
                for (auto& [key, upstream] : upstream_)
                    schedule_upstream(key, config_.upstream_retry_min);
            }
            break;
        }
        case Outcome::refute:
            refute(entry.incarnation);
            break;
        case Outcome::ignored:
        case Outcome::confirmed:
            break;
    }
}

void Node::handle_suspect(const SuspectItem& item) {
    switch (members_.apply_suspect(item, now_s())) {
        case Outcome::changed: {
            broadcast(subject_of_member(item.id), item);
            const Member& member = *members_.find(item.id);
            start_suspicion(member, item.accuser);
            notify_member(member);
            break;
        }
        case Outcome::confirmed: {
            auto it = suspicions_.find(item.id);
            if (it == suspicions_.end() || !it->second.suspicion.confirm(item.accuser)) break;
            // New independent evidence: pass it on (others count it too) and
            // bring the deadline forward.
            broadcast(subject_of_member(item.id), item);
            clock_.cancel(it->second.timer);
            const MemberId suspect_id = item.id;
            it->second.timer = after(it->second.suspicion.deadline() - clock_.now(),
                                     [this, suspect_id] { suspicion_expired(suspect_id); });
            break;
        }
        case Outcome::refute:
            refute(item.incarnation);
            break;
        case Outcome::ignored:
            break;
    }
}

void Node::handle_dead(const DeadItem& item) {
    switch (members_.apply_dead(item, now_s())) {
        case Outcome::changed:
            cancel_suspicion(item.id);
            broadcast(subject_of_member(item.id), item);
            notify_member(*members_.find(item.id));
            break;
        case Outcome::refute:
            refute(item.incarnation);
            break;
        case Outcome::ignored:
        case Outcome::confirmed:
            break;
    }
}

void Node::start_suspicion(const Member& member, const MemberId& accuser) {
    cancel_suspicion(member.id);
    const std::size_t n = fleet_size();
    // memberlist: k = mult - 2 confirmations wanted, none in a fleet too
    // small to supply them.
    std::uint32_t wanted = config_.suspicion_mult > 2 ? config_.suspicion_mult - 2 : 0;
    if (n < std::size_t{wanted} + 2) wanted = 0;
    auto bounds = suspicion_bounds(config_.suspicion_mult, config_.suspicion_max_mult, n, config_.probe_interval);
    Suspicion suspicion(accuser, wanted, bounds, clock_.now());
    const MemberId suspect_id = member.id;
    TimerId timer = after(suspicion.deadline() - clock_.now(), [this, suspect_id] { suspicion_expired(suspect_id); });
    suspicions_.insert_or_assign(member.id, ActiveSuspicion{suspicion, timer});
}

void Node::suspicion_expired(const MemberId& suspect_id) {
    auto it = suspicions_.find(suspect_id);
    if (it == suspicions_.end()) return;
    const Member* member = members_.find(suspect_id);
    if (member == nullptr || member->state != MemberState::suspect) {
        suspicions_.erase(it);
        return;
    }
    // One last check over a stream before declaring death: rumors are
    // probabilistic, and this node may be the one that missed the suspect's
    // refutation. The suspect answers with its current incarnation (refuting
    // first if it had not heard); silence for a probe interval confirms (a
    // stream needs that long to get through heavy loss).
    it->second.timer = 0;
    const std::uint32_t incarnation = member->incarnation;
    const Address address = member->address;
    Micros wait = awareness_.scale(config_.probe_interval);
    auto decided = std::make_shared<bool>(false);
    auto declare = [this, suspect_id, incarnation, decided] {
        if (*decided) return;
        *decided = true;
        if (suspicions_.erase(suspect_id) == 0) return;  // refuted meanwhile
        const Member* suspect = members_.find(suspect_id);
        if (suspect == nullptr || suspect->state != MemberState::suspect || suspect->incarnation != incarnation) return;
        handle_dead(DeadItem{suspect_id, incarnation, id()});
    };
    it->second.timer = after(wait, declare);
    exchange(address, StreamPing{suspect_id, incarnation, true},
             [this, suspect_id, address, decided, declare](Result<StreamMessage> reply) {
                 if (*decided) return;
                 auto* pong = reply ? std::get_if<Pong>(&*reply) : nullptr;
                 if (pong == nullptr || pong->self.id != suspect_id) return;  // the timer decides
                 *decided = true;
                 auto active = suspicions_.find(suspect_id);
                 if (active != suspicions_.end() && active->second.timer != 0) clock_.cancel(active->second.timer);
                 suspicions_.erase(suspect_id);
                 handle_alive(pong->self, address);
                 const Member* still = members_.find(suspect_id);
                 if (still != nullptr && still->state == MemberState::suspect) start_suspicion(*still, id());
             });
}

void Node::cancel_suspicion(const MemberId& suspect_id) {
    auto it = suspicions_.find(suspect_id);
    if (it == suspicions_.end()) return;
    clock_.cancel(it->second.timer);
    suspicions_.erase(it);
}

void Node::refute(std::uint32_t accused_incarnation) {
    members_.refute_self(accused_incarnation);
    ++stats_.refutations;
    // Lifeguard: being accused hints that this node is the slow one.
    awareness_.apply(1);
    broadcast(subject_of_member(id()), AliveItem{members_.entry(*members_.slot_of(id()))});
}

}  // namespace patchwave::net::gossip
