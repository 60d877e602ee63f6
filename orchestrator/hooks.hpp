// Event hooks: every event goes, as JSON, to a configured command (on stdin)
// and an HTTP webhook (POST); slow or failing hooks never block the daemon.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "orchestrator/event_log.hpp"

namespace patchwave::orchestrator {

struct HookConfig {
    std::string command;   ///< run by /bin/sh -c, event JSON on stdin; empty = none
    std::string webhook;   ///< "http://host:port/path" (plain HTTP); empty = none
    std::chrono::seconds timeout{10};  ///< per attempt
    std::uint32_t retries = 3;         ///< attempts after the first, with backoff 1 s, 2 s, 4 s ...
    std::size_t queue_limit = 1000;    ///< events waiting beyond this are dropped (and logged)
};

/// Errc::invalid_argument naming the field (bad URL scheme, empty host, ...).
Status validate(const HookConfig& config);

/// Delivers events in order on its own thread; emit() never blocks.
class HookRunner {
public:
    struct Stats {
        std::uint64_t delivered = 0;  ///< per hook target
        std::uint64_t failed = 0;     ///< gave up after the retries
        std::uint64_t dropped = 0;    ///< queue full
    };

    static Result<std::unique_ptr<HookRunner>> start(HookConfig config);
    /// Stops after the event being delivered (waits at most one attempt's timeout).
    ~HookRunner();
    void emit(const Event& event);
    Stats stats() const;
    /// Test helper: blocks until the queue is empty and no delivery runs, or the timeout passes.
    bool drain(std::chrono::milliseconds timeout);

private:
    struct Impl;
    explicit HookRunner(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace patchwave::orchestrator
