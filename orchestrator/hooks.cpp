#include "orchestrator/hooks.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "orchestrator/hook_delivery.hpp"

namespace patchwave::orchestrator {
namespace {

constexpr std::chrono::seconds kFirstBackoff{1};
constexpr std::chrono::seconds kMaxBackoff{30};

// Backoff before retry number `retry` (0 = the first retry): 1 s, 2 s, 4 s ... capped.
std::chrono::seconds backoff(std::uint32_t retry) {
    std::chrono::seconds wait = kFirstBackoff;
    for (std::uint32_t i = 0; i < retry && wait < kMaxBackoff; ++i)
        wait *= 2;
    return std::min(wait, kMaxBackoff);
}

struct Queued {
    std::string body;  // the event's JSON, as sent to every target
    std::string kind;
    std::string label;  // "event 12 wave-opened of 2026-11-B", for the log
};

}  // namespace

Status validate(const HookConfig& config) {
    if (config.timeout.count() <= 0) return fail(Errc::invalid_argument, "hooks.timeout: must be above 0 seconds");
    if (config.queue_limit == 0) return fail(Errc::invalid_argument, "hooks.queue_limit: must be at least 1");
    if (config.command.find('\0') != std::string::npos) {
        return fail(Errc::invalid_argument, "hooks.command: contains a NUL byte");
    }
    if (!config.webhook.empty()) {
        if (auto url = parse_http_url(config.webhook); !url) {
            return std::unexpected(url.error().with_context("hooks.webhook"));
        }
    }
    return {};
}

struct HookRunner::Impl {
    HookConfig config;
    std::optional<HttpUrl> url;

    mutable std::mutex mutex;
    std::condition_variable wake;  // the worker: an event queued, or stop
    std::condition_variable idle;  // drain(): the queue ran empty
    std::deque<Queued> queue;
    bool busy = false;
    Stats counts;
    // Read without the mutex by the delivery attempts, which poll it to end early.
    std::atomic<bool> stopping{false};
    std::thread worker;

    void run() {
        for (;;) {
            Queued item;
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [this] { return stopping.load() || !queue.empty(); });
                if (stopping.load()) break;
                item = std::move(queue.front());
                queue.pop_front();
                busy = true;
            }
            deliver(item);
            {
                std::lock_guard lock(mutex);
                busy = false;
            }
            idle.notify_all();
        }
        std::lock_guard lock(mutex);
        if (!queue.empty()) spdlog::warn("hooks: stopping with {} events not delivered", queue.size());
        busy = false;
        idle.notify_all();
    }

    void deliver(const Queued& item) {
        const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.timeout);
        if (!config.command.empty()) {
            deliver_to("hook command", item, [&] {
                return run_hook_command(config.command, item.body, "hook command (" + item.label + ")", timeout,
                                        stopping);
            });
        }
        if (url) {
            deliver_to("hook webhook " + config.webhook, item,
                       [&] { return post_webhook(*url, item.body, item.kind, timeout, stopping); });
        }
    }

    // At most 1 + retries attempts, with backoff between them; the outcome is counted once per target.
    template <class Attempt>
    void deliver_to(const std::string& target, const Queued& item, Attempt attempt) {
        for (std::uint32_t number = 0;; ++number) {
            auto result = attempt();
            if (result) {
                if (number > 0) spdlog::info("{}: {} delivered on attempt {}", target, item.label, number + 1);
                std::lock_guard lock(mutex);
                ++counts.delivered;
                return;
            }
            if (stopping.load()) {
                spdlog::warn("{}: {} abandoned: {}", target, item.label, result.error().message());
                return;
            }
            if (number >= config.retries) {
                spdlog::error("{}: {} failed after {} attempt(s), giving up: {}", target, item.label, number + 1,
                              result.error().message());
                std::lock_guard lock(mutex);
                ++counts.failed;
                return;
            }
            const auto wait = backoff(number);
            spdlog::warn("{}: {} attempt {} failed: {}; retrying in {} s", target, item.label, number + 1,
                         result.error().message(), wait.count());
            std::unique_lock lock(mutex);
            if (wake.wait_for(lock, wait, [this] { return stopping.load(); })) {
                spdlog::warn("{}: {} abandoned: the hook runner is shutting down", target, item.label);
                return;
            }
        }
    }
};

Result<std::unique_ptr<HookRunner>> HookRunner::start(HookConfig config) {
    if (auto ok = validate(config); !ok) return std::unexpected(ok.error());
    auto impl = std::make_unique<Impl>();
    if (!config.webhook.empty()) {
        auto url = parse_http_url(config.webhook);
        if (!url) return std::unexpected(url.error().with_context("hooks.webhook"));
        impl->url = std::move(*url);
    }
    impl->config = std::move(config);
    Impl* raw = impl.get();
    impl->worker = std::thread([raw] { raw->run(); });
    return std::unique_ptr<HookRunner>(new HookRunner(std::move(impl)));
}

HookRunner::HookRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HookRunner::~HookRunner() {
    if (!impl_) return;
    {
        // Under the mutex, so the worker cannot miss the wake-up between its check and its wait.
        std::lock_guard lock(impl_->mutex);
        impl_->stopping.store(true);
    }
    impl_->wake.notify_all();
    if (impl_->worker.joinable()) impl_->worker.join();
}

void HookRunner::emit(const Event& event) {
    if (impl_->config.command.empty() && !impl_->url) return;
    Queued item;
    // Invalid UTF-8 in an operator's reason must not stop the event: it is replaced, not thrown on.
    item.body = event.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    item.kind = event.kind;
    item.label = "event " + std::to_string(event.id) + " " + event.kind + " of " + event.rollout_id;
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->stopping.load()) return;
        if (impl_->queue.size() >= impl_->config.queue_limit) {
            ++impl_->counts.dropped;
            spdlog::error("hooks: {} events already waiting (hooks.queue_limit), dropping {}", impl_->queue.size(),
                          item.label);
            return;
        }
        impl_->queue.push_back(std::move(item));
    }
    impl_->wake.notify_all();
}

HookRunner::Stats HookRunner::stats() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->counts;
}

bool HookRunner::drain(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    return impl_->idle.wait_for(lock, timeout, [this] { return impl_->queue.empty() && !impl_->busy; });
}

}  // namespace patchwave::orchestrator
