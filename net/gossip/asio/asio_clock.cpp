#include "net/gossip/asio/asio_clock.hpp"

#include <algorithm>

namespace patchwave::net::gossip::asio_impl {

AsioClock::AsioClock(boost::asio::io_context& io) : io_(io), self_(std::make_shared<AsioClock*>(this)) {}

AsioClock::~AsioClock() {
    *self_ = nullptr;
    // Cancelling is implied by destroying the timers; the aborted handlers
    // find self_ cleared and do nothing.
    timers_.clear();
}

Instant AsioClock::now() const {
    return std::chrono::time_point_cast<Micros>(std::chrono::steady_clock::now());
}

TimerId AsioClock::schedule(Micros delay, std::function<void()> callback) {
    const TimerId id = next_id_++;
    auto timer = std::make_unique<Timer>(io_);
    timer->callback = std::move(callback);
    timer->timer.expires_after(std::max(delay, Micros(0)));
    std::weak_ptr<AsioClock*> token = self_;
    timer->timer.async_wait([token, id](const boost::system::error_code& ec) {
        auto self = token.lock();
        if (!self || *self == nullptr || ec) return;
        (*self)->fire(id);
    });
    timers_.emplace(id, std::move(timer));
    return id;
}

void AsioClock::fire(TimerId id) {
    // A timer that expired while cancel() ran may still complete with
    // success: the map, not the error code, says whether it is live.
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    std::function<void()> callback = std::move(it->second->callback);
    timers_.erase(it);
    callback();
}

void AsioClock::cancel(TimerId id) {
    // Erasing destroys the steady_timer, which cancels its wait.
    timers_.erase(id);
}

}  // namespace patchwave::net::gossip::asio_impl
