#include "orchestrator/rollout_control.hpp"

#include <charconv>

#include "orchestrator/key_store.hpp"
#include "orchestrator/trust_store.hpp"

namespace patchwave::orchestrator {
namespace {

Result<std::uint32_t> resolve_wave(const rollout::Manifest& manifest, const std::string& text) {
    std::uint32_t number = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec == std::errc() && end == text.data() + text.size()) {
        if (number == 0 || number > manifest.waves.size()) {
            return fail(Errc::invalid_argument, "--to-wave " + text + ": rollout \"" + manifest.rollout_id +
                                                    "\" has waves 1-" + std::to_string(manifest.waves.size()));
        }
        return number - 1;
    }
    for (std::size_t i = 0; i < manifest.waves.size(); ++i) {
        if (manifest.waves[i].name == text) return static_cast<std::uint32_t>(i);
    }
    return fail(Errc::invalid_argument, "--to-wave \"" + text + "\": rollout \"" + manifest.rollout_id +
                                            "\" has no wave of that name or number");
}

}  // namespace

Result<StoredControl> issue_control(Home& home, const ControlRequest& request) {
    using rollout::ControlAction;
    auto manifest = latest_manifest(home.db(), request.rollout_id);
    if (!manifest) return std::unexpected(manifest.error());
    if (!*manifest) return fail(Errc::not_found, "no rollout \"" + request.rollout_id + "\" has been published");
    const rollout::Manifest& published = (*manifest)->manifest;
    auto previous = latest_control(home.db(), request.rollout_id);
    if (!previous) return std::unexpected(previous.error());

    const std::string name = "rollout \"" + request.rollout_id + "\"";
    const bool paused = *previous && (*previous)->record.paused();
    const std::uint32_t open_wave = *previous ? (*previous)->record.open_wave : 0;
    if (*previous && (*previous)->record.aborted()) {
        const auto& record = (*previous)->record;
        return fail(Errc::state, name + " was aborted at " + format_timestamp(record.time) + " by " +
                                     record.operator_name + "; abort is final");
    }
    rollout::ControlRecord record;
    record.rollout_id = request.rollout_id;
    record.sequence = *previous ? (*previous)->record.sequence + 1 : 1;
    record.action = request.action;
    record.open_wave = open_wave;
    record.reason = request.reason;
    record.operator_name = request.operator_name;
    record.time = request.now;
    switch (request.action) {
        case ControlAction::pause:
            if (paused) return fail(Errc::state, name + " is already paused");
            break;
        case ControlAction::resume:
            if (!paused) return fail(Errc::state, name + " is not paused");
            break;
        case ControlAction::advance: {
            const std::size_t last = published.waves.size() - 1;
            std::uint32_t target = open_wave + 1;
            if (request.to_wave) {
                auto wave = resolve_wave(published, *request.to_wave);
                if (!wave) return std::unexpected(wave.error());
                target = *wave;
            }
            if (target <= open_wave && request.to_wave) {
                return fail(Errc::state, name + ": wave \"" + published.waves[target].name + "\" is already open");
            }
            if (target > last) {
                return fail(Errc::state, name + ": wave \"" + published.waves[last].name +
                                             "\" is the last wave; there is nothing to advance to");
            }
            record.open_wave = target;
            break;
        }
        case ControlAction::abort:
            break;
    }

    auto root = latest_root(home.db());
    if (!root) return std::unexpected(root.error());
    auto signer = signing_keys(home.keys_dir(), root->root, crypto::Role::operator_);
    if (!signer) return std::unexpected(signer.error());
    crypto::Envelope envelope = record.sign(signer->front());
    for (std::size_t i = 1; i < signer->size(); ++i) envelope.sign((*signer)[i]);
    const std::uint64_t last_seen = *previous ? (*previous)->record.sequence : 0;
    auto verified = rollout::verify_control(envelope, root->root, request.rollout_id, last_seen);
    if (!verified) return std::unexpected(verified.error().with_context("internal check of the control record"));

    auto transaction = Transaction::begin(home.db());
    if (!transaction) return std::unexpected(transaction.error());
    if (auto ok = store_control(home.db(), record, envelope); !ok) return std::unexpected(ok.error());
    if (auto ok = transaction->commit(); !ok) return std::unexpected(ok.error());
    return StoredControl{std::move(record), std::move(envelope)};
}

}  // namespace patchwave::orchestrator
