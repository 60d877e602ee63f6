// The gossip Clock on a real event loop: steady_clock time and one
// boost::asio::steady_timer per scheduled callback, all on one io_context.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/gossip/clock.hpp"

namespace patchwave::net::gossip::asio_impl {

/// Clock over an io_context. Like every gossip seam it is single-threaded:
/// schedule() and cancel() must be called on the thread running the
/// io_context (other threads post to it), and callbacks run there, never
/// inline from schedule(). Destroying the clock cancels every pending timer;
/// their callbacks never run.
class AsioClock final : public Clock {
public:
    explicit AsioClock(boost::asio::io_context& io);
    ~AsioClock() override;
    AsioClock(const AsioClock&) = delete;
    AsioClock& operator=(const AsioClock&) = delete;

    Instant now() const override;
    TimerId schedule(Micros delay, std::function<void()> callback) override;
    void cancel(TimerId id) override;

    /// Timers scheduled and neither fired nor cancelled (a leak check for tests).
    std::size_t pending() const { return timers_.size(); }

private:
    struct Timer {
        explicit Timer(boost::asio::io_context& io) : timer(io) {}
        boost::asio::steady_timer timer;
        std::function<void()> callback;
    };

    void fire(TimerId id);

    boost::asio::io_context& io_;
    TimerId next_id_ = 1;
    std::unordered_map<TimerId, std::unique_ptr<Timer>> timers_;
    // Completion handlers can outlive the clock (they sit in the io_context
    // until it runs them with operation_aborted): they check this first.
    std::shared_ptr<AsioClock*> self_;
};

}  // namespace patchwave::net::gossip::asio_impl
