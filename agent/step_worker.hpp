// Runs one bundle command at a time off the event loop (commands block for
// minutes), and hands the outcome back on the loop's executor.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include <boost/asio/any_io_executor.hpp>

#include "agent/command_runner.hpp"

namespace patchwave::agent {

class StepWorker {
public:
    using Done = std::function<void(Result<CommandOutcome>)>;

    explicit StepWorker(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
    /// Cancels a running command and waits for its thread.
    ~StepWorker();
    StepWorker(const StepWorker&) = delete;
    StepWorker& operator=(const StepWorker&) = delete;

    bool busy() const { return busy_; }
    /// Starts `request` on the worker thread; `done` runs on the executor.
    /// Errc::state when a command is already running.
    Status run(CommandRequest request, Done done);
    /// Kills the running command's process group (its outcome is `cancelled`).
    void cancel() { cancel_ = true; }

private:
    boost::asio::any_io_executor executor_;
    std::thread thread_;
    bool busy_ = false;  // touched on the executor's thread only
    std::atomic<bool> cancel_{false};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace patchwave::agent
