// The gossip core's only view of time: a monotonic "now" and one-shot timers.
// The Asio transport implements it with steady timers, the simulator with simulated time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace patchwave::net::gossip {

/// Protocol time is in microseconds: fine enough for simulated link delays,
/// and far from overflow (an int64 of microseconds spans 292,000 years).
using Micros = std::chrono::microseconds;
/// A point on a monotonic clock (the simulator starts at zero).
using Instant = std::chrono::time_point<std::chrono::steady_clock, Micros>;

/// Names a scheduled timer so it can be cancelled. Never 0.
using TimerId = std::uint64_t;

/// Time and timers for one node. Everything runs on the node's single event
/// loop: callbacks are never invoked inline from schedule() or concurrently
/// with any other call into the node.
class Clock {
public:
    virtual ~Clock() = default;

    /// Monotonic: never goes backwards.
    virtual Instant now() const = 0;
    /// Runs `callback` once, no earlier than `delay` from now (a negative
    /// delay counts as zero). Returns an id for cancel().
    virtual TimerId schedule(Micros delay, std::function<void()> callback) = 0;
    /// Cancels a timer that has not fired yet; ids that fired, were cancelled
    /// or never existed are ignored.
    virtual void cancel(TimerId id) = 0;
};

}  // namespace patchwave::net::gossip
