#include "net/gossip/suspicion.hpp"

#include <algorithm>
#include <cmath>

namespace patchwave::net::gossip {

SuspicionBounds suspicion_bounds(std::uint32_t mult, std::uint32_t max_mult, std::size_t members,
                                 Micros probe_interval) {
    double scale = std::max(1.0, std::log10(static_cast<double>(std::max<std::size_t>(members, 1))));
    auto min = Micros(static_cast<std::int64_t>(mult * scale * static_cast<double>(probe_interval.count())));
    return {min, min * max_mult};
}

Micros suspicion_timeout(std::uint32_t confirmations, std::uint32_t wanted, SuspicionBounds bounds) {
    if (wanted == 0) return bounds.min;
    double fraction = std::log(confirmations + 1.0) / std::log(wanted + 1.0);
    double span = static_cast<double>((bounds.max - bounds.min).count());
    auto timeout = bounds.max - Micros(static_cast<std::int64_t>(fraction * span));
    return std::max(timeout, bounds.min);
}

Suspicion::Suspicion(const MemberId& accuser, std::uint32_t wanted, SuspicionBounds bounds, Instant start)
    : accusers_{accuser}, wanted_(wanted), bounds_(bounds), start_(start) {}

bool Suspicion::confirm(const MemberId& from) {
    // Past `wanted` the timeout is at its minimum: more confirmations change
    // nothing, and refusing them keeps this list (and re-gossip) bounded.
    if (confirmations_ >= wanted_) return false;
    if (std::find(accusers_.begin(), accusers_.end(), from) != accusers_.end()) return false;
    accusers_.push_back(from);
    ++confirmations_;
    return true;
}

void Awareness::apply(int delta) {
    std::int64_t next = static_cast<std::int64_t>(score_) + delta;
    score_ = static_cast<std::uint32_t>(std::clamp<std::int64_t>(next, 0, max_ - 1));
}

}  // namespace patchwave::net::gossip
