// Driving a Boost.Asio loop from a test: run until a condition holds or a
// time limit passes, so every wait in a test is bounded.
#pragma once

#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>

namespace patchwave::testing {

/// Runs `io` in short slices until `done()` holds or `limit` passes; true when
/// done() held. Slices rather than run_one_for: a loop with nothing queued
/// would otherwise stop and need restarting by whoever posts next.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= end) return false;
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return true;
}

/// Runs `io` for `span` of real time, delivering whatever arrives.
inline void run_for(boost::asio::io_context& io, std::chrono::milliseconds span) {
    (void)run_until(
        io, [] { return false; }, span);
}

}  // namespace patchwave::testing
