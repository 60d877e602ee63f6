// Lifeguard's timing rules: a suspicion timeout that shrinks as independent
// confirmations arrive, and the local-health multiplier that stretches a slow node's timeouts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "net/gossip/clock.hpp"
#include "net/gossip/record.hpp"

namespace patchwave::net::gossip {

struct SuspicionBounds {
    Micros min{};
    Micros max{};
};

/// min = mult * max(1, log10 n) * probe_interval; max = max_mult * min
/// (memberlist's suspicionTimeout and SuspicionMaxTimeoutMult).
SuspicionBounds suspicion_bounds(std::uint32_t mult, std::uint32_t max_mult, std::size_t members,
                                 Micros probe_interval);

/// The whole timeout after `confirmations` of the `wanted` independent ones:
/// max - log(c + 1) / log(k + 1) * (max - min), never below min. With k = 0
/// the minimum applies at once.
Micros suspicion_timeout(std::uint32_t confirmations, std::uint32_t wanted, SuspicionBounds bounds);

/// One member under suspicion: who accused it, and when it is to be declared dead.
class Suspicion {
public:
    /// `wanted` confirmations drive the timeout to its minimum; the first
    /// accuser does not count as a confirmation.
    Suspicion(const MemberId& accuser, std::uint32_t wanted, SuspicionBounds bounds, Instant start);

    /// Counts `from` once; true when it was a new confirmation (the deadline
    /// moved, and the news is worth forwarding).
    bool confirm(const MemberId& from);
    Instant deadline() const { return start_ + suspicion_timeout(confirmations_, wanted_, bounds_); }
    std::uint32_t confirmations() const { return confirmations_; }

private:
    std::vector<MemberId> accusers_;
    std::uint32_t wanted_;
    std::uint32_t confirmations_ = 0;
    SuspicionBounds bounds_;
    Instant start_;
};

/// Lifeguard's local health: a score from 0 to max - 1 that rises when this
/// node misses nacks or has to refute suspicions of itself, and falls with
/// every successful probe. Timeouts are multiplied by score + 1, so a node
/// that is itself slow waits longer before accusing others.
class Awareness {
public:
    explicit Awareness(std::uint32_t max) : max_(max == 0 ? 1 : max) {}
    void apply(int delta);
    std::uint32_t score() const { return score_; }
    Micros scale(Micros timeout) const { return timeout * (score_ + 1); }

private:
    std::uint32_t max_;
    std::uint32_t score_ = 0;
};

}  // namespace patchwave::net::gossip
