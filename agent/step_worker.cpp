#include "agent/step_worker.hpp"

#include <boost/asio/post.hpp>

namespace patchwave::agent {

StepWorker::~StepWorker() {
    *alive_ = false;
    cancel_ = true;
    if (thread_.joinable()) thread_.join();
}

Status StepWorker::run(CommandRequest request, Done done) {
    if (busy_) return fail(Errc::state, "a command is already running");
    if (thread_.joinable()) thread_.join();  // the previous one has finished: its outcome was delivered
    busy_ = true;
    cancel_ = false;
    std::weak_ptr<bool> alive = alive_;
    thread_ = std::thread([this, alive, request = std::move(request), done = std::move(done)]() mutable {
        auto outcome = run_command(request, &cancel_);
        boost::asio::post(executor_, [this, alive, outcome = std::move(outcome), done = std::move(done)]() mutable {
            if (alive.expired()) return;
            busy_ = false;
            done(std::move(outcome));
        });
    });
    return {};
}

}  // namespace patchwave::agent
