// The deterministic simulator's network and clock: one event queue of
// simulated time, per-link delay, datagram loss, TCP-like streams, partitions and crashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "net/gossip/clock.hpp"
#include "net/gossip/rng.hpp"
#include "net/gossip/transport.hpp"

namespace patchwave::net::gossip::sim {

struct NetworkConfig {
    /// One-way latency of a link: fixed per pair of endpoints, drawn from
    /// [min_delay, max_delay], plus up to 10% jitter per message.
    Micros min_delay = std::chrono::milliseconds(1);
    Micros max_delay = std::chrono::milliseconds(10);
    /// Probability that one datagram is lost. Streams lose segments with the
    /// same probability and pay a retransmission timeout for each loss.
    double loss = 0.0;
    std::size_t max_datagram_size = 1400;
    /// What an exchange with an unreachable endpoint costs before it fails.
    Micros connect_timeout = std::chrono::seconds(1);
    /// TCP's initial retransmission timeout, doubling with each retry.
    Micros retransmission_timeout = std::chrono::milliseconds(200);
    /// Per-endpoint bandwidth in bytes per second, both directions; 0 is
    /// unlimited. Messages queue behind each other at sender and receiver.
    std::uint64_t bandwidth = 0;
};

/// Traffic an endpoint sent, payload bytes only (no UDP/TCP/IP headers).
struct EndpointStats {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagram_bytes_sent = 0;
    std::uint64_t datagrams_lost = 0;
    std::uint64_t exchanges = 0;
    std::uint64_t stream_bytes_sent = 0;  ///< requests sent and replies given
};

class Network;

/// The simulator's clock: every node shares it (time is global).
class SimClock final : public Clock {
public:
    explicit SimClock(Network& network) : network_(network) {}
    Instant now() const override;
    TimerId schedule(Micros delay, std::function<void()> callback) override;
    void cancel(TimerId id) override;

private:
    Network& network_;
};

/// One endpoint's Transport: forwards to the network it belongs to.
class SimTransport final : public Transport {
public:
    SimTransport(Network& network, std::uint32_t index) : network_(network), index_(index) {}
    Address local_address() const override { return Address::for_sim_index(index_); }
    std::size_t max_datagram_size() const override;
    void send_datagram(const Address& to, Bytes payload) override;
    void exchange(const Address& to, Bytes request, Micros timeout, ReplyHandler on_reply) override;
    void set_handler(TransportHandler* handler) override;

private:
    Network& network_;
    std::uint32_t index_;
};

/// Many endpoints, one event loop. Deterministic: the same seed and the same
/// calls give the same events in the same order.
class Network {
public:
    explicit Network(std::uint64_t seed, NetworkConfig config = {});
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    Instant now() const { return now_; }
    Clock& clock() { return clock_; }
    const NetworkConfig& config() const { return config_; }

    /// Runs every event due at or before `deadline`; time then stands at it.
    void run_until(Instant deadline);
    void run_for(Micros span) { run_until(now_ + span); }
    /// Runs events until `done()` holds, checking every `step` of simulated
    /// time, for at most `limit`. True when done() held.
    bool run_until_true(const std::function<bool()>& done, Micros step, Micros limit);
    std::size_t pending_events() const { return queue_.size(); }

    /// A new endpoint at Address::for_sim_index(index).
    std::uint32_t add_endpoint();
    std::size_t endpoints() const { return endpoints_.size(); }
    Transport& transport(std::uint32_t index);

    // ---- faults ----
    void set_loss(double loss) { config_.loss = loss; }
    /// Endpoints in different groups cannot reach each other (a partition).
    void set_group(std::uint32_t index, std::uint32_t group);
    void heal();
    /// A down endpoint sends and receives nothing (a crashed or cut-off host).
    void set_down(std::uint32_t index, bool down);

    const EndpointStats& stats(std::uint32_t index) const { return endpoints_[index].stats; }

    // Used by SimClock and SimTransport.
    TimerId schedule(Micros delay, std::function<void()> action);
    void cancel(TimerId id);
    void send_datagram(std::uint32_t from, const Address& to, Bytes payload);
    void exchange(std::uint32_t from, const Address& to, Bytes request, Micros timeout,
                  Transport::ReplyHandler on_reply);
    void set_handler(std::uint32_t index, TransportHandler* handler) { endpoints_[index].handler = handler; }

private:
    struct Event {
        Instant at;
        std::uint64_t seq = 0;
        TimerId timer = 0;  // 0: a network event, never cancelled
        std::function<void()> action;
    };
    struct Endpoint {
        TransportHandler* handler = nullptr;
        std::uint32_t group = 0;
        bool down = false;
        Instant egress_free{};
        Instant ingress_free{};
        EndpointStats stats;
    };

    bool reachable(std::uint32_t from, std::uint32_t to) const;
    std::optional<std::uint32_t> index_of(const Address& address) const;
    Micros latency(std::uint32_t a, std::uint32_t b);
    /// Arrival time of `bytes` sent now from `from` to `to`, queueing behind
    /// earlier traffic when bandwidth is limited.
    Instant transit(std::uint32_t from, std::uint32_t to, std::size_t bytes, Micros extra);
    Micros stream_penalty();
    void push(Instant at, TimerId timer, std::function<void()> action);

    NetworkConfig config_;
    Rng rng_;
    SimClock clock_;
    Instant now_{};
    std::uint64_t next_seq_ = 1;
    TimerId next_timer_ = 1;
    std::vector<Event> queue_;  // a binary min-heap on (at, seq)
    std::unordered_set<TimerId> live_timers_;
    std::size_t cancelled_in_queue_ = 0;  // cancelled timers still in the heap
    std::vector<Endpoint> endpoints_;
    std::vector<std::unique_ptr<SimTransport>> transports_;
};

}  // namespace patchwave::net::gossip::sim
