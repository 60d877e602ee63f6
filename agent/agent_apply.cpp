// The apply pipeline: per bundle, in manifest order, download -> ready ->
// precheck -> install -> verify -> (reboot-pending -> verify) -> installed,
// each transition journaled before the action it announces.
#include <unistd.h>

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "agent/agent_daemon.hpp"
#include "agent/leftover_steps.hpp"
#include "agent/staged_bundle.hpp"
#include "common/file_io.hpp"
#include "crypto/sha256.hpp"
#include "rollout/wave_assignment.hpp"

namespace patchwave::agent {
namespace {

BundleJournal* find_bundle(JournalState& state, std::string_view rollout_id, const rollout::BundleId& id) {
    RolloutJournal* rollout = state.find_rollout(rollout_id);
    if (rollout == nullptr) return nullptr;
    for (auto& bundle : rollout->bundles)
        if (bundle.id == id) return &bundle;
    return nullptr;
}

void set_state(BundleJournal& bundle, rollout::HostState state, Timestamp now) {
    if (bundle.state != state) bundle.since = now;
    bundle.state = state;
}

// Backoff between local retries of a failed bundle: 10 s, 20 s, 40 s ... 10 min.
Duration retry_backoff(std::uint32_t attempt) {
    const auto shift = std::min<std::uint32_t>(attempt, 6);
    return std::min<Duration>(std::chrono::seconds(10) * (1u << shift), std::chrono::minutes(10));
}

std::string bundle_name(const rollout::BundleId& id) { return rollout::short_hex(id); }

}  // namespace

void AgentDaemon::sync_rollouts(JournalState& next) {
    for (const auto& [id, manifest] : manifests_) {
        RolloutJournal* rollout = next.find_rollout(id);
        // Not only a higher version: after a root rotation revoked the key
        // that signed the one journaled, a lower version is the truth again.
        if (rollout != nullptr && rollout->manifest_version == manifest.version) continue;
        if (rollout == nullptr) {
            // Only rollouts this host is in are journaled and reported.
            if (!rollout::assign_wave(manifest, host_.agent, host_.labels)) continue;
            next.rollouts.push_back(RolloutJournal{id, 0, {}});
            rollout = &next.rollouts.back();
        }
        // A new version of the manifest is the truth: its bundles, in its
        // order. What was done for a bundle id it keeps is kept.
        std::vector<BundleJournal> bundles;
        for (const auto& wanted : manifest.bundles) {
            auto old = std::find_if(rollout->bundles.begin(), rollout->bundles.end(),
                                    [&](const BundleJournal& bundle) { return bundle.id == wanted.id; });
            if (old != rollout->bundles.end()) {
                bundles.push_back(*old);
            } else {
                BundleJournal fresh;
                fresh.id = wanted.id;
                fresh.since = now();
                bundles.push_back(fresh);
            }
        }
        for (const auto& old : rollout->bundles) {
            const bool kept = std::any_of(bundles.begin(), bundles.end(),
                                          [&](const BundleJournal& bundle) { return bundle.id == old.id; });
            // A step in flight for a dropped bundle is finished (and reported) first.
            if (!kept && old.step_running) bundles.push_back(old);
        }
        spdlog::info("rollout {}: now at manifest version {}", id, manifest.version);
        rollout->manifest_version = manifest.version;
        rollout->bundles = std::move(bundles);
    }
}

void AgentDaemon::reconcile() {
    if (stopping_ || !journal_) return;
    JournalState next = journal_->state();
    sync_rollouts(next);
    if (!worker_->busy() && !reboot_running_) recover_interrupted(next);

    std::vector<const rollout::Manifest*> order;
    for (const auto& [id, manifest] : manifests_) order.push_back(&manifest);
    std::sort(order.begin(), order.end(), [](const rollout::Manifest* a, const rollout::Manifest* b) {
        return std::tie(a->published, a->rollout_id) < std::tie(b->published, b->rollout_id);
    });
    std::optional<Timestamp> wake;
    batch_active_ = false;
    for (const rollout::Manifest* manifest : order) {
        if (next.find_rollout(manifest->rollout_id) == nullptr) continue;
        Eligibility eligibility =
            evaluate_eligibility(*manifest, control_of(manifest->rollout_id), member_->root(), host_, now());
        if (eligibility.recheck_at && (!wake || *eligibility.recheck_at < *wake)) wake = eligibility.recheck_at;
        work_on_rollout(*manifest, eligibility, next);
    }
    for (const auto& rollout : next.rollouts)
        for (const auto& bundle : rollout.bundles)
            if (bundle.retry_at && bundle.state != rollout::HostState::failed && (!wake || *bundle.retry_at < *wake))
                wake = bundle.retry_at;
    plan_and_maybe_reboot(next);
    commit(std::move(next), "reconcile");
    schedule_wake(wake);
}

void AgentDaemon::work_on_rollout(const rollout::Manifest& manifest, const Eligibility& eligibility,
                                  JournalState& next) {
    using rollout::HostState;
    const Timestamp time = now();
    bool earlier_pending = false;  // an earlier bundle of the batch is not applied yet
    RolloutJournal* rollout = next.find_rollout(manifest.rollout_id);
    if (rollout == nullptr) return;
    // Steps started below never add or remove bundles, so references stay valid.
    for (BundleJournal& bundle : rollout->bundles) {
        auto in_manifest = std::find_if(manifest.bundles.begin(), manifest.bundles.end(),
                                        [&](const rollout::ManifestBundle& b) { return b.id == bundle.id; });
        if (in_manifest == manifest.bundles.end()) continue;  // dropped, finishing its step
        const std::string& refusal =
            eligibility.refusals[static_cast<std::size_t>(in_manifest - manifest.bundles.begin())];
        const bool due = !bundle.retry_at || *bundle.retry_at <= time;
        switch (bundle.state) {
        case HostState::installed:
        case HostState::reboot_pending:
            continue;
        case HostState::failed:
            return;  // the batch stops at a failed bundle
        case HostState::verifying:
            // After the reboot: the change is made, so verify whatever the window or a pause.
            batch_active_ = true;
            earlier_pending = true;
            if (!worker_->busy() && !reboot_running_ && !bundle.step_running)
                start_step(manifest.rollout_id, bundle.id, step::post_reboot_verify, next);
            continue;
        case HostState::installing:
            batch_active_ = true;
            earlier_pending = true;
            continue;
        case HostState::waiting:
            if (!refusal.empty()) return;  // never applied, whatever the manifest says: the batch stops here
            if (eligibility.may_download && due) start_download(bundle);
            else if (!eligibility.aborted && eligibility.wave && due) join_early(bundle);
            if (eligibility.may_download) batch_active_ = true;
            earlier_pending = true;
            continue;
        case HostState::downloading:
            if (!refusal.empty()) return;
            if (!fetching_.contains(bundle.id) && eligibility.may_download) start_download(bundle);
            batch_active_ = true;
            earlier_pending = true;
            continue;
        case HostState::ready:
            if (!refusal.empty()) return;
            if (eligibility.may_install) batch_active_ = true;
            if (!earlier_pending && eligibility.may_install && due && !worker_->busy() && !reboot_running_) {
                bundle.retry_at.reset();
                start_step(manifest.rollout_id, bundle.id, step::precheck, next);
            }
            earlier_pending = true;
            continue;
        }
    }
}

// Joins the bundle's swarm before this host's wave opens, downloading
// nothing: peers connect, the metadata arrives and the origin can plan which
// pieces to offer, so the download runs at line rate from the moment the wave
// opens (see docs/swarm.md). The journal is not touched: nothing changed here.
void AgentDaemon::join_early(const BundleJournal& bundle) {
    if (fetching_.contains(bundle.id) || held_.contains(bundle.id)) return;
    net::FetchOptions options;
    options.hold = true;
    auto fetched = member_->fetch(bundle.id, state_.bundle(bundle.id), options);
    if (!fetched) {
        spdlog::debug("bundle {}: cannot join its swarm early: {}", bundle_name(bundle.id), fetched.error().message());
        return;
    }
    held_.insert(bundle.id);
}

void AgentDaemon::start_download(BundleJournal& bundle) {
    const auto staging = state_.bundle(bundle.id);
    if (held_.contains(bundle.id)) {
        held_.erase(bundle.id);
        if (auto released = member_->swarm().release(bundle.id); released) {
            fetching_.insert(bundle.id);
            spdlog::info("bundle {}: downloading (joined its swarm early)", bundle_name(bundle.id));
            set_state(bundle, rollout::HostState::downloading, now());
            return;
        }
    }
    auto fetched = member_->fetch(bundle.id, staging, {});
    if (!fetched && !fetched.error().is(Errc::already_exists)) {
        spdlog::warn("bundle {}: cannot start the download: {}", bundle_name(bundle.id), fetched.error().message());
        bundle.retry_at = now() + std::chrono::seconds(30);
        return;
    }
    fetching_.insert(bundle.id);
    if (bundle.state != rollout::HostState::downloading) {
        spdlog::info("bundle {}: downloading", bundle_name(bundle.id));
        set_state(bundle, rollout::HostState::downloading, now());
    }
}

// A restarted agent (a reboot, an upgrade) seeds the bundles it still holds
// again, so the hosts of later waves can fetch from it rather than from the
// orchestrator alone. Each copy is hashed first: one that no longer matches
// its id (changed on disk) is not offered to anyone.
void AgentDaemon::reseed_kept_bundles() {
    using rollout::HostState;
    std::set<rollout::BundleId> seen;
    for (const auto& rollout : journal_->state().rollouts) {
        for (const auto& bundle : rollout.bundles) {
            if (bundle.state == HostState::waiting || bundle.state == HostState::downloading) continue;
            if (!seen.insert(bundle.id).second) continue;
            const auto directory = state_.bundle(bundle.id);
            std::error_code ec;
            if (!std::filesystem::is_directory(directory, ec)) continue;
            auto seeded = member_->seed(directory);
            if (!seeded) {
                spdlog::warn("bundle {}: not seeding the kept copy in {}: {}", bundle_name(bundle.id),
                             directory.string(), seeded.error().message());
            } else if (*seeded != bundle.id) {
                (void)member_->forget(*seeded);
                spdlog::warn("bundle {}: the kept copy in {} no longer matches its id (it hashes to {}); not seeding it",
                             bundle_name(bundle.id), directory.string(), bundle_name(*seeded));
            } else {
                spdlog::info("bundle {}: seeding the kept copy again", bundle_name(bundle.id));
            }
        }
    }
}

void AgentDaemon::on_bundle_ready(const rollout::BundleId& id) {
    JournalState next = journal_->state();
    bool changed = false;
    for (auto& rollout : next.rollouts) {
        for (auto& bundle : rollout.bundles) {
            if (bundle.id != id || bundle.state != rollout::HostState::downloading) continue;
            set_state(bundle, rollout::HostState::ready, now());
            if (auto progress = progress_.find(id); progress != progress_.end()) {
                bundle.bytes_total = progress->second.second;
                bundle.bytes_done = bundle.bytes_total;
            }
            changed = true;
        }
    }
    if (changed) spdlog::info("bundle {}: ready (content verified against its id)", bundle_name(id));
    commit(std::move(next), "ready");
    request_reconcile();
}

void AgentDaemon::on_bundle_failed(const rollout::BundleId& id, const Error& error) {
    fetching_.erase(id);
    held_.erase(id);
    JournalState next = journal_->state();
    for (auto& rollout : next.rollouts) {
        for (auto& bundle : rollout.bundles) {
            if (bundle.id != id || bundle.state != rollout::HostState::downloading) continue;
            bundle.attempts += 1;
            spdlog::warn("bundle {}: download failed (attempt {}): {}", bundle_name(id), bundle.attempts,
                         error.message());
            if (bundle.attempts > 5) {
                set_state(bundle, rollout::HostState::failed, now());
                bundle.failed_step = std::string(step::download);
                bundle.failure_reason = error.message();
            } else {
                set_state(bundle, rollout::HostState::waiting, now());
                bundle.retry_at = now() + retry_backoff(bundle.attempts);
            }
        }
    }
    commit(std::move(next), "download-failed");
    request_reconcile();
}

Result<rollout::BundleMeta> AgentDaemon::bundle_meta(const std::string& rollout_id,
                                                     const rollout::BundleId& id) const {
    const auto path = state_.bundle(id) / "bundle.toml";
    auto text = read_file(path, 1024 * 1024);
    if (!text) return std::unexpected(text.error());
    // The content was verified against the bundle id when it became ready;
    // the approvals also sign the metadata digest, so check it matches too.
    if (auto manifest = manifests_.find(rollout_id); manifest != manifests_.end()) {
        for (const auto& bundle : manifest->second.bundles) {
            if (bundle.id == id && bundle.metadata_digest != rollout::metadata_digest(*text)) {
                return fail(Errc::untrusted, path.string() + " does not match the metadata digest the manifest names");
            }
        }
    }
    return rollout::BundleMeta::parse_toml(*text, path.string());
}

std::optional<std::uint32_t> AgentDaemon::wave_retries(const std::string& rollout_id) const {
    auto manifest = manifests_.find(rollout_id);
    if (manifest == manifests_.end()) return std::nullopt;
    auto wave = rollout::assign_wave(manifest->second, host_.agent, host_.labels);
    if (!wave) return std::nullopt;
    return manifest->second.waves[*wave].retries;
}

void AgentDaemon::start_step(const std::string& rollout_id, const rollout::BundleId& id, std::string_view step_name,
                             JournalState& next) {
    BundleJournal* bundle = find_bundle(next, rollout_id, id);
    if (bundle == nullptr) return;
    auto meta = bundle_meta(rollout_id, id);
    // An attempt starts with a look at what is staged: a link or device put
    // there after verification never reaches a command (rollbacks and verify
    // still run: the install may have left such things itself).
    if (meta && (step_name == step::precheck || step_name == step::install)) {
        if (auto staged = check_staged_bundle(state_.bundle(id)); !staged) meta = std::unexpected(staged.error());
    }
    if (!meta) {
        spdlog::error("bundle {}: {}", bundle_name(id), meta.error().message());
        set_state(*bundle, rollout::HostState::failed, now());
        bundle->failed_step = std::string(step_name);
        bundle->failure_reason = meta.error().message();
        bundle->step_running = false;
        return;
    }
    // Steps without a command are skipped: precheck and verify are optional.
    std::string_view step = step_name;
    const rollout::BundleCommand* command = nullptr;
    if (step == step::precheck) {
        if (meta->precheck) command = &*meta->precheck;
        else step = step::install;
    }
    if (step == step::install) command = &meta->install;
    if (step == step::verify || step == step::post_reboot_verify) {
        if (!meta->verify) {
            if (step == step::verify) {
                finish_bundle(*bundle, rollout_id, next);
            } else {
                set_state(*bundle, rollout::HostState::installed, now());
                bundle->step_running = false;
                spdlog::info("bundle {}: installed (reboot confirmed, no verify command)", bundle_name(id));
            }
            return;
        }
        command = &*meta->verify;
    }
    if (step == step::rollback) {
        if (!meta->rollback) {
            after_rollback(*bundle, false, rollout_id, next);
            return;
        }
        command = &*meta->rollback;
    }
    const rollout::HostState state =
        step == step::post_reboot_verify || (step == step::rollback && bundle->state == rollout::HostState::verifying)
            ? rollout::HostState::verifying
            : rollout::HostState::installing;
    set_state(*bundle, state, now());
    bundle->step = std::string(step);
    bundle->step_running = true;
    if (!commit(next, std::string(rollout::to_string(state)) + "/" + std::string(step))) {
        bundle->step_running = false;
        return;
    }
    spdlog::info("bundle {}: running {}: {}", bundle_name(id), step, command->command);
    CommandRequest request;
    request.step = std::string(step);
    request.command = *command;
    request.working_directory = state_.bundle(id);
    request.environment = {{"PATCHWAVE_ROOT", options_.config.system_root},
                           {"PATCHWAVE_BUNDLE_ID", rollout::to_hex(id)},
                           {"PATCHWAVE_ROLLOUT_ID", rollout_id},
                           {"PATCHWAVE_STEP", std::string(step)},
                           {std::string(kStepMarkerVariable), rollout::to_hex(host_.agent)}};
    request.log_file = state_.bundle_log(id);
    if (options_.config.confine_commands)
        request.confinement = Confinement{{options_.config.system_root, state_.bundle(id)}};
    running_ = BundleRef{rollout_id, id};
    std::weak_ptr<bool> alive = alive_;
    auto started = worker_->run(std::move(request), [this, alive, rollout_id, id, step = std::string(step)](
                                                        Result<CommandOutcome> outcome) mutable {
        if (alive.expired()) return;
        on_step_done(rollout_id, id, std::move(step), std::move(outcome));
    });
    if (!started) {
        running_.reset();
        spdlog::error("bundle {}: {}", bundle_name(id), started.error().message());
    }
}

void AgentDaemon::on_step_done(std::string rollout_id, rollout::BundleId id, std::string step_name,
                               Result<CommandOutcome> outcome) {
    running_.reset();
    if (stopping_) return;  // a cancelled command: the journal still says running, recovery handles it
    JournalState next = journal_->state();
    BundleJournal* bundle = find_bundle(next, rollout_id, id);
    if (bundle == nullptr) return;
    bundle->step_running = false;
    const bool ok = outcome && outcome->succeeded();
    if (outcome && outcome->cancelled) return;
    observe_step(step_name, outcome);
    crash_point("step-done:" + step_name);
    if (step_name == step::rollback) {
        if (!ok) {
            spdlog::error("bundle {}: rollback failed: {}", bundle_name(id),
                          outcome ? outcome->describe() : outcome.error().message());
        }
        after_rollback(*bundle, ok, rollout_id, next);
    } else if (ok) {
        spdlog::info("bundle {}: {} succeeded", bundle_name(id), step_name);
        if (step_name == step::precheck) {
            start_step(rollout_id, id, step::install, next);
        } else if (step_name == step::install) {
            start_step(rollout_id, id, step::verify, next);
        } else if (step_name == step::verify) {
            finish_bundle(*bundle, rollout_id, next);
        } else if (step_name == step::post_reboot_verify) {
            set_state(*bundle, rollout::HostState::installed, now());
            spdlog::info("bundle {}: installed (verified after the reboot)", bundle_name(id));
        }
    } else {
        fail_step(*bundle, step_name, outcome ? outcome->describe() : outcome.error().message(), rollout_id, next);
    }
    commit(std::move(next), "step-done/" + step_name);
    request_reconcile();
}

void AgentDaemon::finish_bundle(BundleJournal& bundle, const std::string& rollout_id, JournalState& next) {
    const rollout::BundleId id = bundle.id;
    auto meta = bundle_meta(rollout_id, id);
    if (meta) {
        auto tracked = record_bundle_paths(options_.config.system_root, id, meta->paths, now());
        if (tracked) {
            merge_baseline(next.baseline, *tracked);
        } else {
            spdlog::warn("bundle {}: cannot record its paths for drift checks: {}", bundle_name(id),
                         tracked.error().message());
        }
    }
    BundleJournal* live = find_bundle(next, rollout_id, id);
    if (live == nullptr) return;
    live->step_running = false;
    live->failed_step.clear();
    live->failure_reason.clear();
    live->interrupted = false;
    if (meta && meta->reboot == rollout::RebootNeed::required) {
        set_state(*live, rollout::HostState::reboot_pending, now());
        live->needs_reboot = true;
        live->boot_id = boot_id_;
        spdlog::info("bundle {}: installed, reboot pending", bundle_name(id));
    } else {
        set_state(*live, rollout::HostState::installed, now());
        spdlog::info("bundle {}: installed", bundle_name(id));
    }
}

void AgentDaemon::fail_step(BundleJournal& bundle, std::string_view step_name, std::string reason,
                            const std::string& rollout_id, JournalState& next) {
    spdlog::error("bundle {}: {} failed: {}", bundle_name(bundle.id), step_name, reason);
    bundle.failed_step = std::string(step_name);
    if (reason.size() > 2000) reason.resize(2000);
    bundle.failure_reason = std::move(reason);
    const rollout::BundleId id = bundle.id;
    start_step(rollout_id, id, step::rollback, next);
}

void AgentDaemon::after_rollback(BundleJournal& bundle, bool rolled_back, const std::string& rollout_id,
                                 JournalState& next) {
    (void)next;
    bundle.rolled_back = rolled_back;
    bundle.step_running = false;
    const bool after_reboot = bundle.failed_step == step::post_reboot_verify;
    if (bundle.interrupted && bundle.interruptions <= kMaxInterruptedRetries && !after_reboot) {
        spdlog::warn("bundle {}: rolled back after an interruption; trying again", bundle_name(bundle.id));
        bundle.interrupted = false;
        set_state(bundle, rollout::HostState::ready, now());
        return;
    }
    const std::uint32_t retries = wave_retries(rollout_id).value_or(0);
    if (!after_reboot && bundle.attempts < retries) {
        bundle.attempts += 1;
        bundle.retry_at = now() + retry_backoff(bundle.attempts - 1);
        spdlog::warn("bundle {}: attempt {} of {} failed; retrying at {}", bundle_name(bundle.id), bundle.attempts,
                     retries + 1, format_timestamp(*bundle.retry_at));
        set_state(bundle, rollout::HostState::ready, now());
        return;
    }
    bundle.interrupted = false;
    set_state(bundle, rollout::HostState::failed, now());
    spdlog::error("bundle {}: failed at {} ({}rolled back): {}", bundle_name(bundle.id), bundle.failed_step,
                  rolled_back ? "" : "not ", bundle.failure_reason);
}

void AgentDaemon::recover_interrupted(JournalState& next) {
    for (auto& rollout : next.rollouts) {
        for (auto& bundle : rollout.bundles) {
            if (!bundle.step_running) continue;
            if (running_ && running_->bundle == bundle.id) continue;
            const std::string interrupted_step = bundle.step;
            bundle.step_running = false;
            bundle.interruptions += 1;
            spdlog::warn("bundle {}: the agent stopped while {} was running; it may have run half", bundle_name(bundle.id),
                         interrupted_step);
            if (interrupted_step == step::rollback) {
                // Run the rollback again (rollbacks must be idempotent), a bounded number of times.
                if (bundle.interruptions > kMaxInterruptedRetries + 1) {
                    after_rollback(bundle, false, rollout.rollout_id, next);
                } else {
                    start_step(rollout.rollout_id, bundle.id, step::rollback, next);
                }
                return;
            }
            if (interrupted_step == step::verify || interrupted_step == step::post_reboot_verify) {
                // Verify commands only look: run them again rather than undo a good install.
                if (bundle.interruptions <= kMaxInterruptedRetries) {
                    start_step(rollout.rollout_id, bundle.id, interrupted_step, next);
                    return;
                }
            }
            bundle.interrupted = true;
            const std::string rollout_id = rollout.rollout_id;
            fail_step(bundle, interrupted_step,
                      "interrupted: the agent stopped while " + interrupted_step + " was running", rollout_id, next);
            return;  // one command at a time
        }
    }
}

}  // namespace patchwave::agent
