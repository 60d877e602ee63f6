// Record dissemination and state sync for Node: piggybacked records and
// digests, fetches over streams, push-pull anti-entropy, admission of new
// members by certificate, joins, and delivery of upstream records to collectors.
#include <algorithm>

#include "net/gossip/node.hpp"

namespace patchwave::net::gossip {

namespace {

// A fetch reply stays well under the stream cap even with maximal records.
constexpr std::size_t kMaxFetchReplyBytes = 8 * 1024 * 1024;

std::int64_t count_of(Micros duration) {
    return std::max<std::int64_t>(duration.count(), 0);
}

std::size_t encoded_record_item_size(const Record& record) {
    return 3 + 1 + 32 + 1 + record.header.key.id.size() + 8 + record.envelope.size();
}

}  // namespace

// ---- records ---------------------------------------------------------------

void Node::handle_item(const Item& item, const Address& from) {
    std::visit(
        [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, AliveItem>) {
                handle_alive(value.member, from);
            } else if constexpr (std::is_same_v<T, SuspectItem>) {
                handle_suspect(value);
            } else if constexpr (std::is_same_v<T, DeadItem>) {
                handle_dead(value);
            } else if constexpr (std::is_same_v<T, RecordItem>) {
                if (wants(value.record->header)) handle_record(value.record);
            } else {
                // Only a member that verified and stored the record gossips its
                // digest, so the sender is the place to fetch it from.
                if (wants(value.header)) fetch_records(from, {value.header});
            }
        },
        item);
}

bool Node::wants(const RecordHeader& header) const {
    // Upstream records (status) are the collectors' business; everyone else
    // holds only its own, which keeps a member's state independent of n.
    if (config_.scope(header.key.type) == RecordScope::upstream && !config_.collector) return false;
    return header.version > store_.version_of(header.key);
}

void Node::handle_record(const RecordPtr& record) {
    auto result = store_.offer(record);
    if (!result) {
        ++stats_.records_refused;
        if (on_refused) on_refused(record->header, result.error());
        return;
    }
    if (*result == OfferResult::stored) record_stored(record);
}

std::vector<std::pair<RecordHeader, Error>> Node::drop_untrusted_records() {
    std::vector<std::pair<RecordHeader, Error>> dropped;
    store_.drop_if([&](const RecordPtr& record) {
        auto trusted = verifier_.still_trusted(record->header, record->envelope);
        if (trusted) return false;
        dropped.emplace_back(record->header, trusted.error());
        return true;
    });
    return dropped;
}

void Node::record_stored(const RecordPtr& record) {
    const RecordHeader& header = record->header;
    if (config_.scope(header.key.type) == RecordScope::fleet) {
        // Small records ride whole in gossip; big ones as a digest that
        // receivers resolve over a stream (records larger than a datagram).
        if (encoded_record_item_size(*record) <= config_.inline_record_limit) {
            broadcast(subject_of_record(header.key), RecordItem{record});
        } else {
            broadcast(subject_of_record(header.key), DigestItem{header});
        }
    } else if (header.key.origin == id()) {
        Upstream& upstream = upstream_[header.key];
        if (upstream.timer != 0) clock_.cancel(upstream.timer);
        upstream = Upstream{};
        upstream.version = header.version;
        schedule_upstream(header.key, Micros(rng_.below(count_of(config_.upstream_jitter))));
    }
    if (on_record) on_record(record);
}

void Node::fetch_records(const Address& from, std::vector<RecordHeader> headers) {
    std::vector<RecordHeader> wanted;
    for (auto& header : headers) {
        if (wanted.size() >= kMaxFetchHeaders) break;
        if (wants(header) && !fetching_.contains(header.key)) wanted.push_back(std::move(header));
    }
    // Over the in-flight cap the want is dropped: the next digest or push-pull brings it back.
    if (wanted.empty() || exchanges_in_flight_ >= config_.max_fetches_in_flight) return;
    for (const auto& header : wanted)
        fetching_.insert(header.key);
    std::vector<RecordKey> keys;
    keys.reserve(wanted.size());
    for (const auto& header : wanted)
        keys.push_back(header.key);
    exchange(from, FetchRecords{std::move(wanted)}, [this, keys = std::move(keys)](Result<StreamMessage> reply) {
        for (const auto& key : keys)
            fetching_.erase(key);
        if (!reply) return;
        auto* records = std::get_if<Records>(&*reply);
        if (records == nullptr) return;
        for (const auto& record : records->records) {
            if (wants(record->header)) handle_record(record);
        }
    });
}

Bytes Node::handle_fetch_records(const FetchRecords& request) {
    Records reply;
    std::size_t total = 0;
    for (const auto& header : request.headers) {
        RecordPtr record = store_.find(header.key);
        if (!record || record->header.version < header.version) continue;
        if (total + record->envelope.size() > kMaxFetchReplyBytes) break;
        total += record->envelope.size();
        reply.records.push_back(std::move(record));
    }
    return reply_bytes(reply);
}

// ---- push-pull -------------------------------------------------------------

State Node::local_state(bool with_members, bool peer_is_collector) const {
    State state;
    if (with_members) {
        state.members.reserve(members_.size());
        for (std::size_t slot = 0; slot < members_.size(); ++slot)
            state.members.push_back(members_.entry(slot));
    }
    store_.for_each([&](const RecordPtr& record) {
        const RecordKey& key = record->header.key;
        if (config_.scope(key.type) == RecordScope::upstream && key.origin != id() && !peer_is_collector) return;
        state.records.push_back(record->header);
    });
    return state;
}

void Node::merge_state(const State& state, const Address& peer) {
    for (const auto& entry : state.members) {
        if (members_.find(entry.id) == nullptr) {
            if (entry.state == MemberState::alive) admit_later(entry, peer);
            continue;
        }
        switch (entry.state) {
            case MemberState::alive:
                handle_alive(entry, peer);
                break;
            // memberlist's mergeState: a death reported by one peer is only a
            // suspicion here; the member gets its chance to refute.
            case MemberState::suspect:
            case MemberState::dead:
                handle_suspect(SuspectItem{entry.id, entry.incarnation, id()});
                break;
            case MemberState::left:
                handle_dead(DeadItem{entry.id, entry.incarnation, entry.id});
                break;
        }
    }
    std::vector<RecordHeader> wanted;
    for (const auto& header : state.records) {
        if (wants(header)) wanted.push_back(header);
    }
    for (std::size_t begin = 0; begin < wanted.size(); begin += kMaxFetchHeaders) {
        std::size_t end = std::min(wanted.size(), begin + kMaxFetchHeaders);
        fetch_records(peer, std::vector<RecordHeader>(wanted.begin() + static_cast<std::ptrdiff_t>(begin),
                                                      wanted.begin() + static_cast<std::ptrdiff_t>(end)));
    }
}

void Node::push_pull_with(const Member& peer, bool with_members) {
    PushPull request;
    request.sender = id();
    request.flags = static_cast<std::uint8_t>((with_members ? PushPull::kSyncMembers : 0)
                                              | (config_.collector ? PushPull::kWantsUpstream : 0));
    request.state = local_state(with_members, (peer.roles & kRoleCollector) != 0);
    const Address address = peer.address;
    exchange(address, request, [this, address](Result<StreamMessage> reply) {
        if (!reply) return;
        if (auto* state = std::get_if<PushPullReply>(&*reply)) merge_state(state->state, address);
    });
}

void Node::push_pull_tick() {
    push_pull_timer_ = after(push_pull_period(), [this] { push_pull_tick(); });
    auto peers =
        members_.random_slots(1, rng_, [](const Member& member) { return member.state == MemberState::alive; });
    if (!peers.empty()) push_pull_with(members_.at(peers.front()), true);
}

void Node::record_sync_tick() {
    record_sync_timer_ = after(config_.record_sync_interval, [this] { record_sync_tick(); });
    auto peers =
        members_.random_slots(1, rng_, [](const Member& member) { return member.state == MemberState::alive; });
    if (!peers.empty()) push_pull_with(members_.at(peers.front()), false);
}

void Node::reconnect_tick() {
    reconnect_timer_ = after(config_.reconnect_interval, [this] { reconnect_tick(); });
    // Serf's reconnect: a member declared dead (not one that left) may only
    // be on the far side of a partition; one exchange with it merges the halves.
    std::vector<const Member*> candidates;
    for (const auto& dead_id : dead_order_) {
        const Member* member = members_.find(dead_id);
        if (member != nullptr && member->state == MemberState::dead) candidates.push_back(member);
    }
    if (!candidates.empty()) push_pull_with(*candidates[rng_.below(candidates.size())], true);
}

// ---- admission -------------------------------------------------------------

void Node::admit_later(const MemberEntry& entry, const Address& source) {
    if (entry.id == id()) return;
    auto it = pending_.find(entry.id);
    if (it != pending_.end()) {
        if (entry.incarnation > it->second.entry.incarnation) it->second.entry = entry;
        return;
    }
    if (pending_.size() >= config_.max_pending_members) return;
    MemberEntry alive = entry;
    alive.state = MemberState::alive;
    pending_.emplace(entry.id, PendingMember{alive, source, false});
    // Fetched on the next turn of the loop, so every unknown member named by
    // one push-pull goes out in one request.
    after(Micros(0), [this, source] { fetch_certificates(source); });
}

void Node::fetch_certificates(const Address& source) {
    if (exchanges_in_flight_ >= config_.max_fetches_in_flight) {
        // Busy: try again shortly rather than drop what this source told us.
        after(config_.gossip_interval, [this, source] { fetch_certificates(source); });
        return;
    }
    std::vector<MemberId> ids;
    for (auto& [pending_id, pending] : pending_) {
        if (pending.fetching || pending.source != source) continue;
        pending.fetching = true;
        ids.push_back(pending_id);
        if (ids.size() >= kMaxFetchIds) break;
    }
    if (ids.empty()) return;
    exchange(source, FetchCertificates{ids}, [this, ids, source](Result<StreamMessage> reply) {
        if (reply) {
            if (auto* certificates = std::get_if<Certificates>(&*reply)) admit(*certificates);
        }
        // Whatever was not admitted is dropped; gossip will name it again.
        for (const auto& pending_id : ids)
            pending_.erase(pending_id);
        fetch_certificates(source);
    });
}

void Node::admit(const Certificates& certificates) {
    for (const auto& envelope : certificates.envelopes) {
        auto identity = verifier_.admit_member(envelope);
        if (!identity) {
            ++stats_.members_refused;
            continue;
        }
        auto it = pending_.find(identity->id);
        if (it == pending_.end() || members_.find(identity->id) != nullptr) {
            // Not asked for (or already known): keep no certificate for a stranger.
            if (members_.find(identity->id) == nullptr) verifier_.forget_member(identity->id);
            continue;
        }
        MemberEntry entry = it->second.entry;
        pending_.erase(it);
        if (!members_.add(entry, now_s())) continue;
        broadcast(subject_of_member(entry.id), AliveItem{entry});
        const Member& member = *members_.find(entry.id);
        notify_member(member);
        if ((member.roles & kRoleCollector) != 0) {
            for (auto& [key, upstream] : upstream_)
                schedule_upstream(key, config_.upstream_retry_min);
        }
    }
}

Status Node::seed_member(const MemberEntry& entry, ByteView certificate) {
    if (members_.find(entry.id) != nullptr) return fail(Errc::already_exists, "member already known");
    auto identity = verifier_.admit_member(certificate);
    if (!identity) return std::unexpected(identity.error());
    if (identity->id != entry.id) {
        verifier_.forget_member(identity->id);
        return fail(Errc::untrusted, "the certificate is not the member's");
    }
    if (auto status = validate(entry.hint); !status) return status;
    return members_.add(entry, now_s());
}

// ---- join ------------------------------------------------------------------

void Node::join(std::vector<Address> seeds, std::function<void(Status)> done) {
    start();
    if (seeds.empty()) {
        done(fail(Errc::invalid_argument, "gossip join: no seed addresses"));
        return;
    }
    join_next(std::make_shared<std::vector<Address>>(std::move(seeds)), 0,
              std::make_shared<std::function<void(Status)>>(std::move(done)), std::nullopt);
}

void Node::join_next(std::shared_ptr<std::vector<Address>> seeds, std::size_t next,
                     std::shared_ptr<std::function<void(Status)>> done, std::optional<Error> last) {
    if (next >= seeds->size()) {
        (*done)(std::unexpected(last.value_or(Error(Errc::io, "gossip join: no seed answered"))));
        return;
    }
    const Address seed = (*seeds)[next];
    JoinRequest request{members_.entry(*members_.slot_of(id())), config_.certificate};
    exchange(seed, request, [this, seeds, next, done, seed](Result<StreamMessage> reply) {
        const std::string where = "joining via " + to_string(seed);
        if (!reply) {
            join_next(seeds, next + 1, done, reply.error().with_context(where));
            return;
        }
        if (auto* state = std::get_if<PushPullReply>(&*reply)) {
            merge_state(state->state, seed);
            (*done)({});
            return;
        }
        if (auto* refused = std::get_if<Refused>(&*reply)) {
            join_next(seeds, next + 1, done, Error(Errc::untrusted, where + ": refused: " + refused->reason));
            return;
        }
        join_next(seeds, next + 1, done, Error(Errc::parse, where + ": unexpected reply"));
    });
}

Bytes Node::handle_join(const JoinRequest& request) {
    auto identity = verifier_.admit_member(request.certificate);
    if (!identity) {
        ++stats_.members_refused;
        std::string reason = "certificate not admitted: " + identity.error().message();
        reason.resize(std::min(reason.size(), kMaxReasonLength));
        return reply_bytes(Refused{reason});
    }
    if (identity->id != request.self.id || request.self.state != MemberState::alive) {
        ++stats_.members_refused;
        if (members_.find(identity->id) == nullptr) verifier_.forget_member(identity->id);
        return reply_bytes(Refused{"the certificate is not the joining member's"});
    }
    pending_.erase(request.self.id);
    if (members_.find(request.self.id) == nullptr) {
        (void)members_.add(request.self, now_s());
        broadcast(subject_of_member(request.self.id), AliveItem{request.self});
        notify_member(*members_.find(request.self.id));
    } else {
        handle_alive(request.self, request.self.address);
    }
    return reply_bytes(PushPullReply{local_state(true, (request.self.roles & kRoleCollector) != 0)});
}

// ---- upstream delivery -----------------------------------------------------

Bytes Node::handle_delivery(const Records& delivery) {
    Held held;
    for (const auto& record : delivery.records) {
        if (wants(record->header)) handle_record(record);
        std::uint64_t version = store_.version_of(record->header.key);
        if (version > 0) held.headers.push_back(RecordHeader{record->header.key, version});
    }
    return reply_bytes(held);
}

void Node::schedule_upstream(const RecordKey& key, Micros delay) {
    auto it = upstream_.find(key);
    if (it == upstream_.end() || !running_) return;
    if (it->second.timer != 0) clock_.cancel(it->second.timer);
    it->second.timer = after(delay, [this, key] { deliver_upstream(key); });
}

void Node::deliver_upstream(const RecordKey& key) {
    auto it = upstream_.find(key);
    if (it == upstream_.end()) return;
    it->second.timer = 0;
    RecordPtr record = store_.find(key);
    if (!record || record->header.version != it->second.version) {
        upstream_.erase(it);
        return;
    }
    std::vector<std::pair<MemberId, Address>> targets;
    bool any_collector = false;
    // Suspected and even dead collectors are tried too: there are few of
    // them, the stream either gets through or costs a timeout, and under
    // heavy loss a member's view of the orchestrator can be wrong for a while.
    for (std::size_t slot = 0; slot < members_.size(); ++slot) {
        const Member& member = members_.at(slot);
        if (member.id == id() || member.state == MemberState::left || (member.roles & kRoleCollector) == 0) continue;
        any_collector = true;
        const auto& held_by = it->second.held_by;
        if (std::find(held_by.begin(), held_by.end(), member.id) == held_by.end()) {
            targets.emplace_back(member.id, member.address);
        }
    }
    if (any_collector && targets.empty()) {
        upstream_.erase(it);  // every live collector holds this version
        return;
    }
    const std::uint64_t version = it->second.version;
    for (const auto& [collector, address] : targets) {
        exchange(address, Records{{record}}, [this, key, version, collector](Result<StreamMessage> reply) {
            auto entry = upstream_.find(key);
            if (!reply || entry == upstream_.end() || entry->second.version != version) return;
            auto* held = std::get_if<Held>(&*reply);
            if (held == nullptr) return;
            for (const auto& header : held->headers) {
                if (header.key == key && header.version >= version) entry->second.held_by.push_back(collector);
            }
        });
    }
    // Until every collector confirmed: retry with exponential backoff (plus
    // jitter, so a collector coming back is not hit by the fleet at once).
    const std::uint32_t attempt = std::min<std::uint32_t>(it->second.attempt++, 16);
    Micros backoff = std::min(config_.upstream_retry_max, config_.upstream_retry_min * (std::int64_t{1} << attempt));
    schedule_upstream(key, backoff + Micros(rng_.below(count_of(config_.upstream_jitter) + 1)));
}

}  // namespace patchwave::net::gossip
