#include "net/gossip/sim/network.hpp"

#include <algorithm>

namespace patchwave::net::gossip::sim {

namespace {

// The heap is a max-heap under this order, so the earliest event is on top;
// seq breaks ties in scheduling order, which is what makes runs repeatable.
bool later(const auto& a, const auto& b) {
    if (a.at != b.at) return a.at > b.at;
    return a.seq > b.seq;
}

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

}  // namespace

Instant SimClock::now() const {
    return network_.now();
}
TimerId SimClock::schedule(Micros delay, std::function<void()> callback) {
    return network_.schedule(delay, std::move(callback));
}
void SimClock::cancel(TimerId id) {
    network_.cancel(id);
}

std::size_t SimTransport::max_datagram_size() const {
    return network_.config().max_datagram_size;
}
void SimTransport::send_datagram(const Address& to, Bytes payload) {
    network_.send_datagram(index_, to, std::move(payload));
}
void SimTransport::exchange(const Address& to, Bytes request, Micros timeout, ReplyHandler on_reply) {
    network_.exchange(index_, to, std::move(request), timeout, std::move(on_reply));
}
void SimTransport::set_handler(TransportHandler* handler) {
    network_.set_handler(index_, handler);
}

Network::Network(std::uint64_t seed, NetworkConfig config) : config_(config), rng_(mix_seed(seed, 0)), clock_(*this) {}

Network::~Network() = default;

std::uint32_t Network::add_endpoint() {
    auto index = static_cast<std::uint32_t>(endpoints_.size());
    endpoints_.emplace_back();
    transports_.push_back(std::make_unique<SimTransport>(*this, index));
    return index;
}

Transport& Network::transport(std::uint32_t index) {
    return *transports_.at(index);
}

void Network::set_group(std::uint32_t index, std::uint32_t group) {
    endpoints_.at(index).group = group;
}

void Network::heal() {
    for (auto& endpoint : endpoints_)
        endpoint.group = 0;
}

void Network::set_down(std::uint32_t index, bool down) {
    endpoints_.at(index).down = down;
}

void Network::push(Instant at, TimerId timer, std::function<void()> action) {
    queue_.push_back(Event{at, next_seq_++, timer, std::move(action)});
    std::push_heap(queue_.begin(), queue_.end(), [](const Event& a, const Event& b) { return later(a, b); });
}

TimerId Network::schedule(Micros delay, std::function<void()> action) {
    TimerId id = next_timer_++;
    live_timers_.insert(id);
    push(now_ + std::max(delay, Micros(0)), id, std::move(action));
    return id;
}

void Network::cancel(TimerId id) {
    if (live_timers_.erase(id) == 0) return;
    // A cancelled timer stays in the heap until it is due. Suspicion timers
    // last a minute and are mostly cancelled (refuted), so under churn dead
    // entries would outnumber live ones many times over: drop them in one
    // pass whenever they make up half the heap (amortized O(1) per cancel).
    if (++cancelled_in_queue_ < 1024 || 2 * cancelled_in_queue_ < queue_.size()) return;
    std::erase_if(queue_, [this](const Event& event) { return event.timer != 0 && !live_timers_.contains(event.timer); });
    std::make_heap(queue_.begin(), queue_.end(), [](const Event& a, const Event& b) { return later(a, b); });
    cancelled_in_queue_ = 0;
}

void Network::run_until(Instant deadline) {
    while (!queue_.empty() && queue_.front().at <= deadline) {
        std::pop_heap(queue_.begin(), queue_.end(), [](const Event& a, const Event& b) { return later(a, b); });
        Event event = std::move(queue_.back());
        queue_.pop_back();
        now_ = event.at;
        if (event.timer != 0 && live_timers_.erase(event.timer) == 0) {
            if (cancelled_in_queue_ > 0) --cancelled_in_queue_;
            continue;  // cancelled
        }
        event.action();
    }
    now_ = std::max(now_, deadline);
}

bool Network::run_until_true(const std::function<bool()>& done, Micros step, Micros limit) {
    const Instant end = now_ + limit;
    step = std::max(step, Micros(1));
    while (!done()) {
        if (now_ >= end) return false;
        run_until(std::min(end, now_ + step));
    }
    return true;
}

std::optional<std::uint32_t> Network::index_of(const Address& address) const {
    auto index = address.sim_index();
    if (!index || *index >= endpoints_.size()) return std::nullopt;
    return index;
}

bool Network::reachable(std::uint32_t from, std::uint32_t to) const {
    const Endpoint& a = endpoints_[from];
    const Endpoint& b = endpoints_[to];
    return !a.down && !b.down && a.group == b.group;
}

Micros Network::latency(std::uint32_t a, std::uint32_t b) {
    // Fixed per link (derived from the pair, so it costs no memory), plus jitter.
    std::uint64_t pair = (std::uint64_t{std::min(a, b)} << 32) | std::max(a, b);
    auto span = static_cast<std::uint64_t>(std::max<std::int64_t>((config_.max_delay - config_.min_delay).count(), 0));
    Micros base = config_.min_delay + Micros(static_cast<std::int64_t>(mix(pair) % (span + 1)));
    return base + Micros(static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(base.count()) / 10 + 1)));
}

Instant Network::transit(std::uint32_t from, std::uint32_t to, std::size_t bytes, Micros extra) {
    Micros flight = latency(from, to) + extra;
    if (config_.bandwidth == 0) return now_ + flight;
    auto serialize = Micros(static_cast<std::int64_t>(bytes * 1'000'000 / config_.bandwidth));
    Endpoint& sender = endpoints_[from];
    Endpoint& receiver = endpoints_[to];
    Instant sent = std::max(now_, sender.egress_free) + serialize;
    sender.egress_free = sent;
    Instant arrived = std::max(sent + flight, receiver.ingress_free + serialize);
    receiver.ingress_free = arrived;
    return arrived;
}

Micros Network::stream_penalty() {
    // Each lost segment costs a retransmission timeout, doubling per retry
    // (bounded: TCP gives up long before eight).
    Micros penalty{0};
    Micros rto = config_.retransmission_timeout;
    for (int tries = 0; tries < 8 && rng_.chance(config_.loss); ++tries) {
        penalty += rto;
        rto *= 2;
    }
    return penalty;
}

void Network::send_datagram(std::uint32_t from, const Address& to, Bytes payload) {
    Endpoint& sender = endpoints_[from];
    ++sender.stats.datagrams_sent;
    sender.stats.datagram_bytes_sent += payload.size();
    auto target = index_of(to);
    if (!target || payload.size() > config_.max_datagram_size || !reachable(from, *target)
        || rng_.chance(config_.loss)) {
        ++sender.stats.datagrams_lost;
        return;
    }
    const std::uint32_t receiver = *target;
    Instant at = transit(from, receiver, payload.size(), Micros(0));
    push(at, 0, [this, from, receiver, payload = std::move(payload)] {
        Endpoint& endpoint = endpoints_[receiver];
        if (endpoint.down || endpoint.handler == nullptr) return;
        endpoint.handler->on_datagram(Address::for_sim_index(from), payload);
    });
}

void Network::exchange(std::uint32_t from, const Address& to, Bytes request, Micros timeout,
                       Transport::ReplyHandler on_reply) {
    Endpoint& sender = endpoints_[from];
    ++sender.stats.exchanges;
    sender.stats.stream_bytes_sent += request.size();
    auto target = index_of(to);
    auto fail_at = [&](Micros delay, Errc errc, std::string message) {
        push(now_ + std::min(delay, timeout), 0,
             [on_reply = std::move(on_reply), errc, message = std::move(message)] { on_reply(fail(errc, message)); });
    };
    if (!target || !reachable(from, *target)) {
        fail_at(config_.connect_timeout, Errc::timeout, "connect to " + to_string(to) + " timed out");
        return;
    }
    const std::uint32_t server = *target;
    const Instant started = now_;
    // Connection setup (SYN, SYN-ACK) then the request: about 1.5 round trips.
    Micros setup = 2 * latency(from, server) + stream_penalty() + stream_penalty();
    Instant arrives = transit(from, server, request.size(), setup);
    push(
        arrives, 0,
        [this, from, server, started, timeout, request = std::move(request), on_reply = std::move(on_reply)]() mutable {
            Endpoint& endpoint = endpoints_[server];
            if (endpoint.down || endpoint.handler == nullptr || !reachable(from, server)) {
                push(std::min(now_ + latency(server, from), started + timeout), 0,
                     [on_reply = std::move(on_reply)] { on_reply(fail(Errc::io, "connection refused or reset")); });
                return;
            }
            Bytes reply = endpoint.handler->on_exchange(Address::for_sim_index(from), request);
            endpoint.stats.stream_bytes_sent += reply.size();
            Instant back = transit(server, from, reply.size(), stream_penalty());
            if (back > started + timeout) {
                push(started + timeout, 0,
                     [on_reply = std::move(on_reply)] { on_reply(fail(Errc::timeout, "exchange timed out")); });
                return;
            }
            push(back, 0, [this, from, on_reply = std::move(on_reply), reply = std::move(reply)]() mutable {
                // The reply handler runs exactly once, even for a host that went
                // down meanwhile (its node may be cut off, not gone).
                if (endpoints_[from].down) {
                    on_reply(fail(Errc::io, "connection reset"));
                    return;
                }
                if (reply.empty()) {
                    on_reply(fail(Errc::io, "stream closed without a reply"));
                    return;
                }
                on_reply(std::move(reply));
            });
        });
}

}  // namespace patchwave::net::gossip::sim
