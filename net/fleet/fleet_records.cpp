// FleetMember's record files: the fleet records it holds, saved one file per
// record key so a restarted member acts on them at once, and the header a
// signed document travels under.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/file_io.hpp"
#include "common/hex.hpp"
#include "net/fleet/fleet_member.hpp"
#include "rollout/certificate.hpp"
#include "rollout/control_record.hpp"
#include "rollout/manifest.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::net {

namespace {

namespace fs = std::filesystem;
using gossip::RecordType;

constexpr std::string_view kSuffix = ".env";
// A records directory holds a few files per rollout; anything past this is not ours.
constexpr std::size_t kMaxFiles = 100'000;

std::string file_name_for(const gossip::RecordHeader& header) {
    switch (header.key.type) {
        case RecordType::root:
            return "root-v" + std::to_string(header.version) + std::string(kSuffix);
        case RecordType::manifest:
            return "manifest-" + header.key.id + std::string(kSuffix);
        case RecordType::control:
            return "control-" + header.key.id + std::string(kSuffix);
        case RecordType::certificate:
            return "certificate-" + to_hex(header.key.origin) + std::string(kSuffix);
        case RecordType::status:
            break;
    }
    return {};
}

// Roots in version order come first (each must follow the one before, and
// everything else is checked against the newest), then the rest.
int restore_rank(RecordType type) {
    switch (type) {
        case RecordType::root:
            return 0;
        case RecordType::certificate:
            return 1;
        case RecordType::manifest:
            return 2;
        case RecordType::control:
            return 3;
        case RecordType::status:
            return 4;
    }
    return 5;
}

std::uint64_t non_negative(std::int64_t value) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(value, 0));
}

}  // namespace

Result<gossip::RecordHeader> record_header_of(gossip::ByteView bytes) {
    auto envelope = crypto::Envelope::decode(bytes, gossip::Record::kMaxEnvelopeSize);
    if (!envelope) return std::unexpected(envelope.error().with_context("record"));
    const std::string& type = envelope->type;
    auto context = [&](const Error& error) { return std::unexpected(error.with_context(type + " record")); };
    gossip::RecordHeader header;
    if (type == crypto::TrustRoot::kEnvelopeType) {
        auto root = crypto::TrustRoot::parse(envelope->body);
        if (!root) return context(root.error());
        header.key.type = RecordType::root;
        header.version = root->version;
    } else if (type == rollout::Manifest::kEnvelopeType) {
        auto manifest = rollout::Manifest::parse_json(envelope->body);
        if (!manifest) return context(manifest.error());
        header.key.type = RecordType::manifest;
        header.key.id = manifest->rollout_id;
        header.version = manifest->version;
    } else if (type == rollout::ControlRecord::kEnvelopeType) {
        auto control = rollout::ControlRecord::parse_json(envelope->body);
        if (!control) return context(control.error());
        header.key.type = RecordType::control;
        header.key.id = control->rollout_id;
        header.version = control->sequence;
    } else if (type == rollout::AgentCertificate::kEnvelopeType) {
        auto certificate = rollout::AgentCertificate::parse_json(envelope->body);
        if (!certificate) return context(certificate.error());
        header.key.type = RecordType::certificate;
        header.key.origin = certificate->agent_id();
        header.version = non_negative(certificate->issued.time_since_epoch().count());
    } else if (type == rollout::StatusRecord::kEnvelopeType) {
        auto status = rollout::StatusRecord::parse_json(envelope->body);
        if (!status) return context(status.error());
        header.key.type = RecordType::status;
        header.key.origin = status->agent;
        header.version = status->sequence;
    } else {
        return fail(Errc::parse, "envelope type \"" + type + "\" is not a record gossip carries");
    }
    if (auto valid = gossip::validate(header); !valid) return context(valid.error());
    return header;
}

void FleetMember::save_record(const gossip::Record& record) {
    if (config_.records_dir.empty()) return;
    const std::string name = file_name_for(record.header);
    if (name.empty()) return;
    const fs::path path = config_.records_dir / name;
    const std::string_view data(reinterpret_cast<const char*>(record.envelope.data()), record.envelope.size());
    if (auto status = write_file_atomic(path, data, 0644); !status) {
        // Gossip still holds the record; only a restart before it comes round again loses it.
        spdlog::warn("cannot save {} to {}: {}", gossip::to_string(record.header), path.string(),
                     status.error().message());
    }
}

void FleetMember::drop_superseded_roots(std::uint64_t adopted_version) {
    if (config_.records_dir.empty()) return;
    std::error_code ec;
    for (std::uint64_t version = adopted_version; version-- > 1;) {
        const fs::path old = config_.records_dir / ("root-v" + std::to_string(version) + std::string(kSuffix));
        if (!fs::remove(old, ec)) break;  // older ones went with it earlier
    }
}

// A rotation that revokes a release, operator or enrollment key (the
// recovery from a compromised one) takes what that key signed out of the
// store and off the disk: a version far ahead signed by it would otherwise
// keep every lower version the new keys sign out as "stale" for ever.
void FleetMember::drop_untrusted_records() {
    for (const auto& [header, reason] : node_->drop_untrusted_records()) {
        spdlog::warn("dropped {}: {}", gossip::to_string(header), reason.message());
        if (config_.records_dir.empty()) continue;
        const std::string name = file_name_for(header);
        if (name.empty()) continue;
        std::error_code ignored;
        fs::remove(config_.records_dir / name, ignored);
    }
}

void FleetMember::restore_records() {
    if (config_.records_dir.empty()) return;
    struct Saved {
        fs::path path;
        gossip::RecordHeader header;
        gossip::Bytes bytes;
    };
    std::vector<Saved> saved;
    std::error_code ec;
    fs::directory_iterator it(config_.records_dir, ec);
    if (ec) {
        spdlog::warn("records directory {}: {}", config_.records_dir.string(), ec.message());
        return;
    }
    auto drop = [](const fs::path& path, const std::string& why) {
        spdlog::info("dropping saved record {}: {}", path.filename().string(), why);
        std::error_code ignored;
        fs::remove(path, ignored);
    };
    std::size_t seen = 0;
    for (; it != fs::directory_iterator() && seen < kMaxFiles; it.increment(ec), ++seen) {
        const fs::path path = it->path();
        if (!it->is_regular_file(ec) || path.extension() != kSuffix) continue;
        auto text = read_file(path, gossip::Record::kMaxEnvelopeSize);
        if (!text) {
            drop(path, text.error().message());
            continue;
        }
        gossip::Bytes bytes(text->begin(), text->end());
        auto header = record_header_of(bytes);
        if (!header) {
            drop(path, header.error().message());
            continue;
        }
        if (header->key.type == RecordType::status || file_name_for(*header) != path.filename().string()) {
            drop(path, "not the file this record is saved as");
            continue;
        }
        saved.push_back(Saved{path, std::move(*header), std::move(bytes)});
    }
    std::sort(saved.begin(), saved.end(), [](const Saved& a, const Saved& b) {
        const int ra = restore_rank(a.header.key.type);
        const int rb = restore_rank(b.header.key.type);
        return ra != rb ? ra < rb : a.header.version < b.header.version;
    });
    std::size_t restored = 0;
    restoring_ = true;
    for (auto& record : saved) {
        if (record.header.key.type == RecordType::root && record.header.version <= verifier_->root().version) {
            drop(record.path, "superseded by trust root v" + std::to_string(verifier_->root().version));
            continue;
        }
        auto status = node_->publish(record.header, std::move(record.bytes));
        if (status) {
            ++restored;
        } else if (!status.error().is(Errc::state)) {
            // Expired, superseded, or no longer signed by keys the root trusts.
            drop(record.path, status.error().message());
        }
    }
    restoring_ = false;
    if (!saved.empty()) {
        spdlog::info("restored {} of {} saved record(s) from {}", restored, saved.size(), config_.records_dir.string());
    }
}

}  // namespace patchwave::net
