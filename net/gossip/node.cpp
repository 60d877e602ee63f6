#include "net/gossip/node.hpp"

#include <algorithm>
#include <cmath>

namespace patchwave::net::gossip {

namespace {

std::int64_t count_of(Micros duration) {
    return std::max<std::int64_t>(duration.count(), 0);
}

}  // namespace

Status validate(const NodeConfig& config) {
    auto bad = [](std::string_view field, std::string_view why) {
        return fail(Errc::invalid_argument, "gossip config: " + std::string(field) + " " + std::string(why));
    };
    if (config.certificate.empty()) return bad("certificate", "is empty");
    if (config.probe_interval <= Micros(0)) return bad("probe_interval", "must be positive");
    if (config.probe_timeout <= Micros(0) || config.probe_timeout >= config.probe_interval) {
        return bad("probe_timeout", "must be positive and below probe_interval");
    }
    if (config.gossip_interval <= Micros(0)) return bad("gossip_interval", "must be positive");
    if (config.gossip_fanout == 0 || config.gossip_fanout > 64) return bad("gossip_fanout", "must be 1-64");
    if (config.indirect_checks > 64) return bad("indirect_checks", "must be 0-64");
    if (config.suspicion_mult < 1 || config.suspicion_max_mult < 1) {
        return bad("suspicion_mult", "and suspicion_max_mult must be at least 1");
    }
    if (config.retransmit_mult < 1 || config.record_retransmit_mult < 1) {
        return bad("retransmit_mult", "and record_retransmit_mult must be at least 1");
    }
    if (config.push_pull_interval <= Micros(0) || config.reconnect_interval <= Micros(0)
        || config.record_sync_interval <= Micros(0)) {
        return bad("push_pull_interval", "record_sync_interval and reconnect_interval must be positive");
    }
    if (config.max_datagram_size < 512 || config.max_datagram_size > kMaxDatagramSize) {
        return bad("max_datagram_size", "must be 512-65507");
    }
    // Room left for the largest primary message (a ping: 74 bytes) and more.
    if (config.inline_record_limit + 128 > config.max_datagram_size) {
        return bad("inline_record_limit", "must leave 128 bytes of max_datagram_size for the message around it");
    }
    if (config.upstream_retry_min <= Micros(0) || config.upstream_retry_max < config.upstream_retry_min) {
        return bad("upstream_retry_min", "must be positive and at most upstream_retry_max");
    }
    if (config.stream_timeout <= Micros(0)) return bad("stream_timeout", "must be positive");
    if (config.max_fetches_in_flight == 0) return bad("max_fetches_in_flight", "must be at least 1");
    return validate(config.hint);
}

Result<std::unique_ptr<Node>> Node::create(NodeConfig config, Transport& transport, Clock& clock,
                                           RecordVerifier& verifier) {
    if (auto status = validate(config); !status) return std::unexpected(status.error());
    auto identity = verifier.admit_member(config.certificate);
    if (!identity) return std::unexpected(std::move(identity.error()).with_context("own certificate"));
    MemberEntry self;
    self.id = identity->id;
    self.address = transport.local_address();
    self.roles = config.collector ? kRoleCollector : 0;
    self.hint = config.hint;
    return std::unique_ptr<Node>(new Node(std::move(config), transport, clock, verifier, self));
}

Node::Node(NodeConfig config, Transport& transport, Clock& clock, RecordVerifier& verifier, const MemberEntry& self)
    : config_(std::move(config)),
      transport_(transport),
      clock_(clock),
      verifier_(verifier),
      rng_(config_.seed),
      members_(self, static_cast<std::uint32_t>(
                         std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count())),
      store_(verifier, config_.max_records, config_.max_record_bytes),
      queue_(config_.max_broadcasts),
      record_queue_(config_.max_broadcasts),
      awareness_(config_.awareness_max) {
    transport_.set_handler(this);
}

Node::~Node() {
    stop();
    transport_.set_handler(nullptr);
    alive_.reset();
}

std::uint32_t Node::now_s() const {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count());
}

TimerId Node::after(Micros delay, std::function<void()> action) {
    std::weak_ptr<bool> token = alive_;
    return clock_.schedule(delay, [token, action = std::move(action)] {
        if (!token.expired()) action();
    });
}

Micros Node::push_pull_period() const {
    // memberlist's pushPullScale: full state exchanges grow with the fleet,
    // one more interval per doubling past 32 members, so their total
    // traffic per member stays about flat.
    std::size_t n = fleet_size();
    if (n <= 32) return config_.push_pull_interval;
    double multiplier = std::ceil(std::log2(static_cast<double>(n)) - std::log2(32.0)) + 1.0;
    return config_.push_pull_interval * static_cast<std::int64_t>(multiplier);
}

std::uint32_t Node::transmit_limit() const {
    return retransmit_limit(config_.retransmit_mult, fleet_size());
}

void Node::start() {
    if (running_) return;
    running_ = true;
    // Every member builds its list in the same order; probing in that order
    // would have the whole fleet probe the same member at the same moment.
    members_.shuffle(rng_);
    probe_index_ = 0;
    // Random first ticks, so members started together do not move in lockstep.
    gossip_timer_ = after(Micros(rng_.below(count_of(config_.gossip_interval))), [this] { gossip_tick(); });
    probe_timer_ = after(Micros(rng_.below(count_of(config_.probe_interval))), [this] { probe_tick(); });
    push_pull_timer_ = after(Micros(rng_.below(count_of(push_pull_period()))), [this] { push_pull_tick(); });
    record_sync_timer_ =
        after(Micros(rng_.below(count_of(config_.record_sync_interval))), [this] { record_sync_tick(); });
    reconnect_timer_ = after(config_.reconnect_interval + Micros(rng_.below(count_of(config_.reconnect_interval))),
                             [this] { reconnect_tick(); });
    maintenance_timer_ = after(std::chrono::seconds(1), [this] { maintenance_tick(); });
}

void Node::cancel_all_timers() {
    for (TimerId* timer : {&gossip_timer_, &probe_timer_, &push_pull_timer_, &record_sync_timer_, &reconnect_timer_,
                           &maintenance_timer_, &probe_.timeout_timer, &probe_.end_timer}) {
        if (*timer != 0) clock_.cancel(*timer);
        *timer = 0;
    }
    probe_.acked = true;
    for (auto& [seq, relay] : relays_)
        clock_.cancel(relay.timer);
    relays_.clear();
    for (auto& [id, active] : suspicions_)
        clock_.cancel(active.timer);
    suspicions_.clear();
    for (auto& [key, upstream] : upstream_) {
        if (upstream.timer != 0) clock_.cancel(upstream.timer);
        upstream.timer = 0;
    }
}

void Node::stop() {
    if (!running_) return;
    running_ = false;
    cancel_all_timers();
}

void Node::leave() {
    if (!running_) return;
    members_.mark_self_left(now_s());
    auto item = encode_item(DeadItem{id(), members_.self().incarnation, id()});
    if (item) {
        // Told directly to a few members: the node stops right after, so it
        // cannot rely on its own gossip rounds to spread the news.
        auto targets = members_.random_slots(2 * config_.gossip_fanout, rng_, [](const Member& m) { return m.live(); });
        for (auto slot : targets) {
            DatagramBuilder builder(Gossip{}, std::min(config_.max_datagram_size, transport_.max_datagram_size()));
            builder.try_add(*item);
            Bytes bytes = std::move(builder).finish();
            ++stats_.datagrams_sent;
            stats_.datagram_bytes_sent += bytes.size();
            transport_.send_datagram(members_.at(slot).address, std::move(bytes));
        }
    }
    stop();
}

Status Node::publish(RecordHeader header, Bytes envelope) {
    auto record = std::make_shared<Record>(Record{std::move(header), std::move(envelope)});
    auto result = store_.offer(record);
    if (!result) return std::unexpected(result.error());
    if (*result == OfferResult::stale) {
        return fail(Errc::state, to_string(record->header) + ": version "
                                     + std::to_string(store_.version_of(record->header.key)) + " is already held");
    }
    record_stored(record);
    return {};
}

Status Node::set_hint(PeerHint hint) {
    if (auto status = validate(hint); !status) return status;
    members_.update_self(config_.collector ? kRoleCollector : 0, hint);
    config_.hint = std::move(hint);
    const auto slot = *members_.slot_of(id());
    broadcast(subject_of_member(id()), AliveItem{members_.entry(slot)});
    return {};
}

std::vector<std::pair<MemberId, Address>> Node::peers_seeding(const rollout::BundleId& bundle) const {
    std::vector<std::pair<MemberId, Address>> peers;
    for (std::size_t slot = 0; slot < members_.size(); ++slot) {
        const Member& member = members_.at(slot);
        if (!member.live() || member.id == id()) continue;
        const PeerHint* hint = members_.hint(member.id);
        if (hint == nullptr || hint->swarm_endpoint.unset()) continue;
        if (std::find(hint->seeding.begin(), hint->seeding.end(), bundle) != hint->seeding.end()) {
            peers.emplace_back(member.id, hint->swarm_endpoint);
        }
    }
    return peers;
}

// ---- sending -------------------------------------------------------------

void Node::send(const Address& to, const Primary& primary) {
    // Every datagram carries as much queued news as fits (SWIM's piggybacking):
    // probes and acks spread membership changes for free.
    DatagramBuilder builder(primary, std::min(config_.max_datagram_size, transport_.max_datagram_size()));
    piggyback(builder);
    Bytes bytes = std::move(builder).finish();
    ++stats_.datagrams_sent;
    stats_.datagram_bytes_sent += bytes.size();
    transport_.send_datagram(to, std::move(bytes));
}

void Node::exchange(const Address& to, const StreamMessage& message,
                    std::function<void(Result<StreamMessage>)> on_reply) {
    auto bytes = encode_stream_message(message);
    if (!bytes) {
        on_reply(std::unexpected(bytes.error()));
        return;
    }
    ++stats_.exchanges_started;
    stats_.stream_bytes_sent += bytes->size();
    ++exchanges_in_flight_;
    std::weak_ptr<bool> token = alive_;
    transport_.exchange(to, std::move(*bytes), config_.stream_timeout,
                        [this, token, on_reply = std::move(on_reply)](Result<Bytes> reply) {
                            if (token.expired()) return;
                            --exchanges_in_flight_;
                            if (!running_) return;
                            if (!reply) {
                                on_reply(std::unexpected(reply.error()));
                                return;
                            }
                            auto decoded = decode_stream_message(*reply);
                            if (!decoded) ++stats_.malformed;
                            on_reply(std::move(decoded));
                        });
}

Bytes Node::reply_bytes(const StreamMessage& message) {
    auto bytes = encode_stream_message(message);
    if (!bytes) return {};
    stats_.stream_bytes_sent += bytes->size();
    return std::move(*bytes);
}

void Node::broadcast(Subject subject, const Item& item) {
    auto bytes = encode_item(item);
    if (!bytes) return;  // cannot happen for membership items; records are sized by the caller
    const bool about_record = std::holds_alternative<RecordItem>(item) || std::holds_alternative<DigestItem>(item);
    (about_record ? record_queue_ : queue_).push(subject, std::move(*bytes));
}

std::size_t Node::piggyback(DatagramBuilder& builder) {
    // Records first: under heavy membership churn (high loss makes many
    // suspicions) newer membership news would otherwise starve a record.
    std::size_t added = record_queue_.fill(builder, retransmit_limit(config_.record_retransmit_mult, fleet_size()));
    return added + queue_.fill(builder, transmit_limit());
}

// ---- receiving -----------------------------------------------------------

void Node::on_datagram(const Address& from, ByteView bytes) {
    if (!running_) return;
    auto datagram = decode_datagram(bytes, std::max(config_.max_datagram_size, transport_.max_datagram_size()));
    if (!datagram) {
        ++stats_.malformed;
        return;
    }
    // News first: an ack that also carries a refutation should find it applied.
    for (const auto& item : datagram->items)
        handle_item(item, from);
    std::visit(
        [&](const auto& message) {
            using T = std::decay_t<decltype(message)>;
            if constexpr (std::is_same_v<T, Ping>)
                handle_ping(from, message);
            else if constexpr (std::is_same_v<T, PingReq>)
                handle_ping_req(from, message);
            else if constexpr (std::is_same_v<T, Ack>)
                handle_ack(message);
            else if constexpr (std::is_same_v<T, Nack>)
                handle_nack(message);
        },
        datagram->primary);
}

Bytes Node::on_exchange(const Address& from, ByteView request) {
    if (!running_) return {};
    auto message = decode_stream_message(request);
    if (!message) {
        ++stats_.malformed;
        return reply_bytes(Refused{"malformed request"});
    }
    if (auto* join = std::get_if<JoinRequest>(&*message)) return handle_join(*join);
    if (auto* push = std::get_if<PushPull>(&*message)) {
        // Fetches go back to the sender's gossip address: the stream's source
        // is an ephemeral port. Its own entry says where that is; failing
        // that, this node's view of it; the connecting address last.
        Address peer = from;
        if (const Member* sender = members_.find(push->sender)) peer = sender->address;
        for (const auto& entry : push->state.members) {
            if (entry.id == push->sender) peer = entry.address;
        }
        merge_state(push->state, peer);
        const bool with_members = (push->flags & PushPull::kSyncMembers) != 0;
        return reply_bytes(PushPullReply{local_state(with_members, (push->flags & PushPull::kWantsUpstream) != 0)});
    }
    if (auto* fetch = std::get_if<FetchCertificates>(&*message)) {
        Certificates reply;
        std::size_t total = 0;
        for (const auto& wanted : fetch->ids) {
            Bytes certificate = verifier_.certificate(wanted);
            if (certificate.empty() || certificate.size() > kMaxCertificateSize) continue;
            total += certificate.size();
            if (total > kMaxStreamMessageSize / 2) break;
            reply.envelopes.push_back(std::move(certificate));
        }
        return reply_bytes(reply);
    }
    if (auto* fetch = std::get_if<FetchRecords>(&*message)) return handle_fetch_records(*fetch);
    if (auto* ping = std::get_if<StreamPing>(&*message)) {
        if (ping->target != id()) return reply_bytes(Refused{"not the member named"});
        if (ping->suspected && ping->incarnation >= members_.self().incarnation) refute(ping->incarnation);
        return reply_bytes(Pong{members_.entry(*members_.slot_of(id()))});
    }
    if (auto* delivery = std::get_if<Records>(&*message)) return handle_delivery(*delivery);
    return reply_bytes(Refused{"unexpected request"});
}

// ---- periodic work ---------------------------------------------------------

void Node::gossip_tick() {
    gossip_timer_ = after(config_.gossip_interval, [this] { gossip_tick(); });
    if (queue_.empty() && record_queue_.empty()) return;  // nothing to say: a quiet fleet costs no gossip
    const std::uint32_t now = now_s();
    const auto dead_window = std::chrono::duration_cast<std::chrono::seconds>(config_.gossip_to_dead).count();
    // Dead members still hear gossip for a while, so news of their death
    // reaches them and they can refute it.
    auto targets = members_.random_slots(config_.gossip_fanout, rng_, [&](const Member& member) {
        return member.live() || (member.state == MemberState::dead && now - member.state_since_s < dead_window);
    });
    const std::size_t budget = std::min(config_.max_datagram_size, transport_.max_datagram_size());
    for (auto slot : targets) {
        DatagramBuilder builder(Gossip{}, budget);
        if (piggyback(builder) == 0) break;
        Bytes bytes = std::move(builder).finish();
        ++stats_.datagrams_sent;
        stats_.datagram_bytes_sent += bytes.size();
        transport_.send_datagram(members_.at(slot).address, std::move(bytes));
    }
}

void Node::maintenance_tick() {
    maintenance_timer_ = after(std::chrono::seconds(1), [this] { maintenance_tick(); });
    const std::uint32_t now = now_s();
    const auto retention = std::chrono::duration_cast<std::chrono::seconds>(config_.dead_retention).count();
    std::vector<MemberId> keep;
    std::vector<MemberId> expired;
    std::unordered_set<MemberId, MemberIdHash> seen;
    for (const auto& dead_id : dead_order_) {
        const Member* member = members_.find(dead_id);
        // Forgotten, back alive, or listed twice (died, came back, died): skip.
        if (member == nullptr || member->live() || !seen.insert(dead_id).second) continue;
        if (now - member->state_since_s >= retention) {
            expired.push_back(dead_id);
        } else {
            keep.push_back(dead_id);
        }
    }
    dead_order_ = std::move(keep);
    for (const auto& dead_id : expired)
        forget(dead_id);
}

void Node::forget(const MemberId& member) {
    cancel_suspicion(member);
    pending_.erase(member);
    members_.remove(member);
    verifier_.forget_member(member);
}

void Node::notify_member(const Member& member) {
    if (member.state == MemberState::dead || member.state == MemberState::left) dead_order_.push_back(member.id);
    if (on_member) on_member(MemberEvent{member.id, member.state, member.address});
}

}  // namespace patchwave::net::gossip
