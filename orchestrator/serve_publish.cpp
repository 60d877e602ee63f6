// ServeDaemon: the database out to the fleet. Roots in version order, enrolled
// hosts' certificates, the latest manifest and control record of each rollout,
// with the events a new manifest version or control record stands for.
#include <spdlog/spdlog.h>

#include "common/file_io.hpp"
#include "common/hex.hpp"
#include "orchestrator/catalog.hpp"
#include "orchestrator/host_registry.hpp"
#include "orchestrator/rollout_store.hpp"
#include "orchestrator/serve_daemon.hpp"
#include "orchestrator/trust_store.hpp"

namespace patchwave::orchestrator {
namespace {

constexpr std::uint64_t kMaxTorrentFile = 64 << 20;

// Every control record of a rollout, oldest first (a handful per rollout).
Result<std::vector<StoredControl>> control_history(Database& db, const std::string& rollout_id) {
    auto query = db.prepare("SELECT envelope FROM controls WHERE rollout_id = ? ORDER BY sequence");
    if (!query) return std::unexpected(query.error());
    query->bind(1, rollout_id);
    std::vector<StoredControl> history;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        auto envelope = crypto::Envelope::decode(query->column_blob(0));
        if (!envelope) return std::unexpected(envelope.error().with_context("stored control record"));
        auto record = rollout::ControlRecord::parse_json(envelope->body);
        if (!record) return std::unexpected(record.error().with_context("stored control record"));
        history.push_back({std::move(*record), std::move(*envelope)});
    }
    return history;
}

std::optional<std::string> wave_name(const rollout::Manifest& manifest, std::size_t index) {
    if (index < manifest.waves.size()) return manifest.waves[index].name;
    return std::nullopt;
}

}  // namespace

Status ServeDaemon::sync(Home& home) {
    publish_roots(home);
    publish_certificates(home);
    return publish_rollouts(home);
}

void ServeDaemon::publish_envelope(const crypto::Envelope& envelope, const std::string& what) {
    auto bytes = envelope.encode();
    if (!bytes) {
        spdlog::error("cannot encode {}: {}", what, bytes.error().message());
        return;
    }
    auto published = member_->publish(*bytes);
    // Errc::state: gossip already holds it or a newer one (e.g. heard back
    // from a member after a restart of this daemon): nothing to do.
    if (!published && !published.error().is(Errc::state)) {
        spdlog::warn("cannot publish {}: {}", what, published.error().message());
        return;
    }
    spdlog::info("published {}", what);
}

void ServeDaemon::publish_roots(Home& home) {
    auto history = root_history(home.db());
    if (!history) {
        spdlog::error("{}", history.error().message());
        return;
    }
    for (const auto& envelope : *history) {
        auto root = crypto::TrustRoot::parse(envelope.body);
        if (!root || root->version <= root_published_) continue;
        // Each root is checked against the one before: publish strictly in order.
        if (root->version != root_published_ + 1) break;
        publish_envelope(envelope, "trust root v" + std::to_string(root->version));
        root_published_ = root->version;
    }
}

void ServeDaemon::publish_certificates(Home& home) {
    auto hosts = known_hosts(home.db());
    if (!hosts) {
        spdlog::error("{}", hosts.error().message());
        return;
    }
    for (const auto& host : *hosts) {
        const std::string agent = rollout::to_hex(host.certificate.agent_id());
        auto [entry, inserted] = certificates_published_.try_emplace(agent, host.certificate.issued);
        if (!inserted && entry->second >= host.certificate.issued) continue;
        entry->second = host.certificate.issued;
        publish_envelope(host.envelope, "certificate of " + host.certificate.host);
    }
}

Status ServeDaemon::publish_rollouts(Home& home) {
    auto rollouts = list_rollouts(home.db());
    if (!rollouts) return std::unexpected(rollouts.error());
    // Oldest publication first, so events come out in the order things happened.
    for (auto it = rollouts->rbegin(); it != rollouts->rend(); ++it) {
        const rollout::Manifest& manifest = it->manifest;
        const std::string& id = manifest.rollout_id;
        RolloutMemory& memory = rollouts_[id];
        if (manifest.version > memory.manifest_published) {
            publish_envelope(it->envelope, "manifest " + id + " v" + std::to_string(manifest.version));
            memory.manifest_published = manifest.version;
        }
        const std::string published_key = "published/v" + std::to_string(manifest.version);
        if (!events_->announced(id, published_key)) {
            Event event;
            event.time = now();
            event.kind = event_kind::published;
            event.rollout_id = id;
            event.actor = "release";
            event.reason = std::to_string(manifest.bundles.size()) + " bundle(s) in "
                           + std::to_string(manifest.waves.size()) + " wave(s)"
                           + (manifest.emergency ? ", emergency" : "");
            nlohmann::json bundles = nlohmann::json::array();
            for (const auto& bundle : manifest.bundles) {
                bundles.push_back(
                    {{"id", rollout::to_hex(bundle.id)}, {"name", bundle.name}, {"version", bundle.version}});
            }
            event.details = {{"version", manifest.version},
                             {"bundles", bundles},
                             {"waves", manifest.waves.size()},
                             {"emergency", manifest.emergency},
                             {"expires", format_timestamp(manifest.expires)}};
            if (auto ok = events_->record(home.db(), std::move(event), published_key); !ok) return ok;
        }
        if (!events_->announced(id, "wave-opened/0")) {
            Event event;
            event.time = now();
            event.kind = event_kind::wave_opened;
            event.rollout_id = id;
            event.wave = 0;
            event.wave_name = wave_name(manifest, 0);
            event.actor = "release";
            event.reason = manifest.not_before
                               ? "opens at publication, not before " + format_timestamp(*manifest.not_before)
                               : "opens at publication";
            if (auto ok = events_->record(home.db(), std::move(event), "wave-opened/0"); !ok) return ok;
        }
        if (auto ok = announce_controls(home, id, manifest); !ok) return ok;
    }
    return {};
}

Status ServeDaemon::announce_controls(Home& home, const std::string& rollout_id, const rollout::Manifest& manifest) {
    RolloutMemory& memory = rollouts_[rollout_id];
    auto history = control_history(home.db(), rollout_id);
    if (!history) return std::unexpected(history.error());
    if (history->empty()) return {};
    const std::uint64_t announced = events_->control_sequence(rollout_id);
    std::uint32_t open_wave = 0;
    for (const auto& [record, envelope] : *history) {
        const std::uint32_t before = open_wave;
        open_wave = std::max(open_wave, record.open_wave);
        if (record.sequence <= announced) continue;
        const bool by_serve = record.operator_name == kServeActor;
        Event event;
        event.time = now();
        event.rollout_id = rollout_id;
        event.actor = record.operator_name;
        event.reason = record.reason;
        event.details = {{"sequence", record.sequence},
                         {"action", rollout::to_string(record.action)},
                         {"open_wave", record.open_wave + 1},
                         {"signed_at", format_timestamp(record.time)}};
        switch (record.action) {
            case rollout::ControlAction::pause:
                event.kind = by_serve ? event_kind::auto_paused : event_kind::paused;
                break;
            case rollout::ControlAction::resume:
                event.kind = event_kind::resumed;
                break;
            case rollout::ControlAction::advance:
                event.kind = event_kind::advanced;
                event.wave = record.open_wave;
                event.wave_name = wave_name(manifest, record.open_wave);
                break;
            case rollout::ControlAction::abort:
                event.kind = event_kind::aborted;
                break;
        }
        if (auto ok = events_->record(home.db(), std::move(event), "control/" + std::to_string(record.sequence)); !ok) {
            return ok;
        }
        for (std::uint32_t wave = before + 1; wave <= record.open_wave; ++wave) {
            const std::string key = "wave-opened/" + std::to_string(wave);
            if (events_->announced(rollout_id, key)) continue;
            Event opened;
            opened.time = now();
            opened.kind = event_kind::wave_opened;
            opened.rollout_id = rollout_id;
            opened.wave = wave;
            opened.wave_name = wave_name(manifest, wave);
            opened.actor = record.operator_name;
            opened.reason = record.reason;
            opened.details = {{"sequence", record.sequence}};
            if (auto ok = events_->record(home.db(), std::move(opened), key); !ok) return ok;
        }
    }
    const StoredControl& latest = history->back();
    if (latest.record.sequence > memory.control_published) {
        publish_envelope(latest.envelope, "control " + rollout_id + " #" + std::to_string(latest.record.sequence) + " ("
                                              + std::string(rollout::to_string(latest.record.action)) + ")");
        memory.control_published = latest.record.sequence;
    }
    return {};
}

void ServeDaemon::seed_bundles(Home& home, const rollout::Manifest& manifest) {
    for (const auto& entry : manifest.bundles) {
        auto bundle = get_bundle(home.db(), entry.id);
        if (bundle && bundle->triage != rollout::TriageStatus::proceed) {
            // Held or cancelled after publication: never offered to a host.
            if (seeded_.erase(entry.id) > 0) {
                (void)member_->forget(entry.id);
                spdlog::info("stopped seeding bundle {}: triage is {}", rollout::short_hex(entry.id),
                             rollout::to_string(bundle->triage));
            }
            continue;
        }
        if (seeded_.contains(entry.id) || seed_failed_.contains(entry.id)) continue;
        const auto torrent = read_file(bundle_torrent_file(home, entry.id), kMaxTorrentFile);
        if (!bundle || !torrent) {
            spdlog::error("cannot seed bundle {} of rollout {}: {}", rollout::short_hex(entry.id), manifest.rollout_id,
                          !bundle ? bundle.error().message() : torrent.error().message());
            seed_failed_.insert(entry.id);
            continue;
        }
        net::SeedOptions options;
        options.torrent = *torrent;
        options.pinned = true;
        // The first copies go out piece by piece to different peers, so the
        // first wave does not wait on this one uplink.
        options.super_seed = options_.config.super_seed;
        auto seeded = member_->seed(bundle_content_dir(home, entry.id), std::move(options));
        if (!seeded) {
            spdlog::error("cannot seed bundle {} of rollout {}: {}", rollout::short_hex(entry.id), manifest.rollout_id,
                          seeded.error().message());
            seed_failed_.insert(entry.id);
            continue;
        }
        seeded_.insert(entry.id);
        spdlog::info("seeding bundle {} ({} {}) for rollout {}", rollout::short_hex(entry.id), entry.name,
                     entry.version, manifest.rollout_id);
    }
}

}  // namespace patchwave::orchestrator
