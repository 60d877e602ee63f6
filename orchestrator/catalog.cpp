#include "orchestrator/catalog.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

#include "common/file_io.hpp"
#include "net/bundle_torrent.hpp"
#include "orchestrator/bundle_copy.hpp"
#include "rollout/approval.hpp"

namespace patchwave::orchestrator {
namespace {

namespace fs = std::filesystem;

// bundle.toml is metadata, never payload-sized; the cap keeps a mistaken
// path (a disk image named bundle.toml) from being read into memory.
constexpr std::uint64_t kMaxBundleTomlBytes = 1 << 20;
constexpr std::size_t kMinPrefixLength = 8;
constexpr std::size_t kMaxCandidatesShown = 5;

std::string bundle_name(const rollout::BundleId& id) { return "bundle " + rollout::short_hex(id); }

// Removes a directory under tmp/ unless released: a failed create leaves
// nothing behind even before the next exclusive open sweeps tmp/.
class TempDirGuard {
public:
    explicit TempDirGuard(fs::path path) : path_(std::move(path)) {}
    TempDirGuard(const TempDirGuard&) = delete;
    TempDirGuard& operator=(const TempDirGuard&) = delete;
    ~TempDirGuard() {
        if (path_.empty()) return;
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    void release() { path_.clear(); }

private:
    fs::path path_;
};

bool valid_text(std::string_view text) {
    // UTF-8 (no overlongs, surrogates or values past U+10FFFF) without control
    // characters other than tab and newline: what the approval body accepts.
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x80) {
            if ((byte < 0x20 && byte != '\t' && byte != '\n') || byte == 0x7f) return false;
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code = 0;
        if ((byte & 0xe0) == 0xc0) {
            length = 2;
            code = byte & 0x1fu;
        } else if ((byte & 0xf0) == 0xe0) {
            length = 3;
            code = byte & 0x0fu;
        } else if ((byte & 0xf8) == 0xf0) {
            length = 4;
            code = byte & 0x07u;
        } else {
            return false;
        }
        if (i + length > text.size()) return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xc0) != 0x80) return false;
            code = (code << 6) | (next & 0x3fu);
        }
        const std::uint32_t minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
        if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
        i += length;
    }
    return true;
}

Result<std::vector<ApprovalRecord>> load_approvals(Database& db, const std::string& id_hex) {
    auto query = db.prepare(
        "SELECT approver, change_ref, note, approved_at, envelope FROM approvals WHERE bundle_id = ? "
        "ORDER BY approved_at, rowid");
    if (!query) return std::unexpected(query.error());
    query->bind(1, id_hex);
    std::vector<ApprovalRecord> approvals;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        const std::string where = "approval of bundle " + id_hex.substr(0, 12);
        auto approver = crypto::PublicKey::from_text(query->column_text(0));
        if (!approver) return std::unexpected(approver.error().with_context(where));
        auto approved_at = parse_timestamp(query->column_text(3));
        if (!approved_at) return std::unexpected(approved_at.error().with_context(where));
        auto envelope = crypto::Envelope::decode(query->column_blob(4));
        if (!envelope) return std::unexpected(envelope.error().with_context(where));
        approvals.push_back({*approver, query->column_text(1), query->column_text(2), *approved_at,
                             std::move(*envelope)});
    }
    return approvals;
}

Status insert_bundle(Database& db, const BundleRecord& record) {
    auto insert = db.prepare(
        "INSERT INTO bundles (id, name, version, priority, category, description, reboot, metadata_digest, "
        "bundle_toml, triage, total_bytes, file_count, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    insert->bind(1, rollout::to_hex(record.id))
        .bind(2, record.meta.name)
        .bind(3, record.meta.version)
        .bind(4, rollout::to_string(record.meta.priority))
        .bind(5, rollout::to_string(record.meta.category))
        .bind(6, record.meta.description)
        .bind(7, rollout::to_string(record.meta.reboot))
        .bind(8, rollout::to_hex(record.metadata_digest))
        .bind_blob(9, record.bundle_toml)
        .bind(10, rollout::to_string(record.triage))
        .bind(11, static_cast<std::int64_t>(record.total_bytes))
        .bind(12, static_cast<std::int64_t>(record.file_count))
        .bind(13, format_timestamp(record.created));
    return insert->run();
}

// Makes `directory` (a finished temp dir) the stored bundle `id`, durably.
Status move_into_place(const Home& home, const fs::path& directory, const rollout::BundleId& id) {
    const fs::path target = home.bundles_dir() / rollout::to_hex(id);
    std::error_code ec;
    // The database has no row for `id` (the caller checked), so a directory
    // here is what a crash between this rename and the commit left: replace it.
    if (fs::exists(fs::symlink_status(target, ec))) {
        fs::remove_all(target, ec);
        if (ec) return fail(Errc::io, "cannot remove the unfinished " + target.string() + ": " + ec.message());
    }
    if (::chmod(directory.c_str(), 0755) != 0) {
        return fail(Errc::io, "cannot chmod " + directory.string() + ": " + std::strerror(errno));
    }
    if (::rename(directory.c_str(), target.c_str()) != 0) {
        return fail(Errc::io, "cannot move the new bundle to " + target.string() + ": " + std::strerror(errno));
    }
    return sync_directory(home.bundles_dir());
}

}  // namespace

fs::path bundle_content_dir(const Home& home, const rollout::BundleId& id) {
    return home.bundles_dir() / rollout::to_hex(id) / std::string(net::bundle_root_name);
}

fs::path bundle_torrent_file(const Home& home, const rollout::BundleId& id) {
    return home.bundles_dir() / rollout::to_hex(id) / "bundle.torrent";
}

Result<CreateResult> create_bundle(Home& home, const fs::path& directory, Timestamp now,
                                   const HashProgress& progress, const std::atomic<bool>* cancel) {
    std::error_code ec;
    const fs::file_status status = fs::status(directory, ec);
    if (!fs::exists(status)) return fail(Errc::not_found, "bundle directory " + directory.string() + " does not exist");
    if (!fs::is_directory(status)) {
        return fail(Errc::invalid_argument, directory.string() + " is not a directory (bundle create takes the "
                                                                 "directory holding bundle.toml)");
    }
    const fs::path toml_path = directory / "bundle.toml";
    auto toml = read_file(toml_path, kMaxBundleTomlBytes);
    if (!toml) {
        if (toml.error().is(Errc::not_found)) {
            return fail(Errc::not_found, toml_path.string() + " does not exist: every bundle directory needs one");
        }
        return std::unexpected(toml.error());
    }
    auto meta = rollout::BundleMeta::parse_toml(*toml, toml_path.string());
    if (!meta) return std::unexpected(meta.error());

    auto temp = home.make_temp_dir("bundle");
    if (!temp) return std::unexpected(temp.error());
    TempDirGuard guard(*temp);
    const fs::path staged = *temp / std::string(net::bundle_root_name);
    if (::mkdir(staged.c_str(), 0755) != 0) {
        return fail(Errc::io, "cannot create " + staged.string() + ": " + std::strerror(errno));
    }

    // Progress covers both reads of the payload: the copy, then the hashing.
    std::uint64_t copy_total = 0;
    auto copied = copy_bundle_directory(
        directory, staged,
        [&](std::uint64_t done, std::uint64_t total) {
            copy_total = total;
            if (progress) progress(done, 2 * total);
        },
        cancel);
    if (!copied) return std::unexpected(copied.error());
    copy_total = copied->bytes;
    auto torrent = net::build_bundle_torrent(staged, cancel, [&](std::uint64_t done, std::uint64_t total) {
        if (progress) progress(copy_total + done, copy_total + total);
    });
    if (!torrent) {
        // Messages name the copy under tmp/; the author knows DIR.
        return std::unexpected(torrent.error().with_context("bundle " + directory.string()));
    }

    // What was parsed must be what was hashed: the approvals sign this text
    // and the bundle id covers the copy.
    auto stored_toml = read_file(staged / "bundle.toml", kMaxBundleTomlBytes);
    if (!stored_toml || *stored_toml != *toml) {
        return fail(Errc::state, toml_path.string() + " changed while the bundle was being created; run bundle "
                                                      "create again");
    }

    auto existing = get_bundle(home.db(), torrent->id);
    if (existing) return CreateResult{std::move(*existing), true};
    if (!existing.error().is(Errc::not_found)) return std::unexpected(existing.error());

    if (auto ok = write_file_atomic(*temp / "bundle.torrent", torrent->torrent, 0644); !ok) {
        return std::unexpected(ok.error());
    }
    if (auto ok = sync_directory(*temp); !ok) return std::unexpected(ok.error());

    BundleRecord record;
    record.id = torrent->id;
    record.meta = std::move(*meta);
    record.bundle_toml = std::move(*toml);
    record.metadata_digest = rollout::metadata_digest(record.bundle_toml);
    record.total_bytes = torrent->total_bytes;
    record.file_count = torrent->file_count;
    record.created = now;

    if (auto ok = move_into_place(home, *temp, record.id); !ok) return std::unexpected(ok.error());
    guard.release();
    const fs::path target = home.bundles_dir() / rollout::to_hex(record.id);
    // The rename made the files visible; the commit makes the bundle exist.
    // Without the commit the directory is an orphan the next create replaces.
    auto stored = [&]() -> Status {
        auto transaction = Transaction::begin(home.db());
        if (!transaction) return std::unexpected(transaction.error());
        if (auto ok = insert_bundle(home.db(), record); !ok) return ok;
        return transaction->commit();
    }();
    if (!stored) {
        fs::remove_all(target, ec);
        return std::unexpected(stored.error().with_context("storing " + bundle_name(record.id)));
    }
    return CreateResult{std::move(record), false};
}

Result<rollout::BundleId> resolve_bundle(Database& db, std::string_view id_or_prefix) {
    std::string prefix(id_or_prefix);
    std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                   [](char c) { return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c; });
    const bool hex = std::all_of(prefix.begin(), prefix.end(),
                                 [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
    if (prefix.empty() || !hex || prefix.size() > 64) {
        return fail(Errc::invalid_argument,
                    "\"" + std::string(id_or_prefix) + "\" is not a bundle id (64 hex characters, or 8+ of them)");
    }
    if (prefix.size() < kMinPrefixLength) {
        return fail(Errc::invalid_argument, "bundle id prefix \"" + std::string(id_or_prefix) +
                                                "\" is too short (8+ hex characters)");
    }
    // Hex has no LIKE wildcards, so the prefix can go into the pattern as is.
    auto query = db.prepare("SELECT id, name, version FROM bundles WHERE id LIKE ? ORDER BY id LIMIT ?");
    if (!query) return std::unexpected(query.error());
    query->bind(1, prefix + "%").bind(2, static_cast<std::int64_t>(kMaxCandidatesShown + 1));
    struct Candidate {
        std::string id, name, version;
    };
    std::vector<Candidate> candidates;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        candidates.push_back({query->column_text(0), query->column_text(1), query->column_text(2)});
    }
    if (candidates.empty()) return fail(Errc::not_found, "no bundle matches \"" + std::string(id_or_prefix) + "\"");
    if (candidates.size() == 1) return rollout::parse_bundle_id(candidates.front().id);

    // Show each candidate long enough to tell it apart from the others.
    std::size_t shown_length = 12;
    for (std::size_t i = 1; i < candidates.size(); ++i) {
        const auto& a = candidates[i - 1].id;
        const auto& b = candidates[i].id;
        const auto differ = std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin();
        shown_length = std::max(shown_length, static_cast<std::size_t>(differ) + 1);
    }
    std::string message = "bundle id prefix \"" + std::string(id_or_prefix) + "\" is ambiguous: it matches ";
    for (std::size_t i = 0; i < std::min(candidates.size(), kMaxCandidatesShown); ++i) {
        if (i > 0) message += ", ";
        message += candidates[i].id.substr(0, shown_length) + " (" + candidates[i].name + " " +
                   candidates[i].version + ")";
    }
    if (candidates.size() > kMaxCandidatesShown) message += " and more";
    return fail(Errc::invalid_argument, message + "; give more characters");
}

Result<BundleRecord> get_bundle(Database& db, const rollout::BundleId& id) {
    const std::string id_hex = rollout::to_hex(id);
    auto query = db.prepare(
        "SELECT priority, bundle_toml, triage, total_bytes, file_count, created FROM bundles WHERE id = ?");
    if (!query) return std::unexpected(query.error());
    query->bind(1, id_hex);
    auto row = query->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return fail(Errc::not_found, "no bundle " + id_hex + " in the catalog");

    BundleRecord record;
    record.id = id;
    record.bundle_toml = query->column_blob(1);
    const std::string where = bundle_name(id);
    auto meta = rollout::BundleMeta::parse_toml(record.bundle_toml, where + "/bundle.toml");
    if (!meta) return std::unexpected(meta.error());
    record.meta = std::move(*meta);
    auto priority = rollout::priority_from_string(query->column_text(0));
    if (!priority) return std::unexpected(priority.error().with_context(where));
    record.meta.priority = *priority;
    auto triage = rollout::triage_status_from_string(query->column_text(2));
    if (!triage) return std::unexpected(triage.error().with_context(where));
    record.triage = *triage;
    record.metadata_digest = rollout::metadata_digest(record.bundle_toml);
    record.total_bytes = static_cast<std::uint64_t>(query->column_int(3));
    record.file_count = static_cast<std::uint32_t>(query->column_int(4));
    auto created = parse_timestamp(query->column_text(5));
    if (!created) return std::unexpected(created.error().with_context(where));
    record.created = *created;
    auto approvals = load_approvals(db, id_hex);
    if (!approvals) return std::unexpected(approvals.error());
    record.approvals = std::move(*approvals);
    return record;
}

Result<std::vector<BundleRecord>> list_bundles(Database& db) {
    auto query = db.prepare("SELECT id FROM bundles ORDER BY created DESC, rowid DESC");
    if (!query) return std::unexpected(query.error());
    std::vector<rollout::BundleId> ids;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        auto id = rollout::parse_bundle_id(query->column_text(0));
        if (!id) return std::unexpected(id.error().with_context("bundle catalog"));
        ids.push_back(*id);
    }
    std::vector<BundleRecord> bundles;
    for (const auto& id : ids) {
        auto record = get_bundle(db, id);
        if (!record) return std::unexpected(record.error());
        bundles.push_back(std::move(*record));
    }
    return bundles;
}

Status set_triage(Database& db, const rollout::BundleId& id, rollout::TriageStatus status,
                  std::optional<rollout::Priority> priority) {
    auto update = db.prepare("UPDATE bundles SET triage = ?, priority = coalesce(?, priority) WHERE id = ?");
    if (!update) return std::unexpected(update.error());
    update->bind(1, rollout::to_string(status));
    if (priority) {
        update->bind(2, rollout::to_string(*priority));
    } else {
        update->bind_null(2);
    }
    update->bind(3, rollout::to_hex(id));
    if (auto ok = update->run(); !ok) return ok;
    if (db.changes() == 0) return fail(Errc::not_found, "no bundle " + rollout::to_hex(id) + " in the catalog");
    return {};
}

Result<ApprovalRecord> approve_bundle(Database& db, const rollout::BundleId& id, const crypto::PrivateKey& approver,
                                      std::string change_ref, std::string note, const crypto::TrustRoot& root,
                                      Timestamp now) {
    const std::string name = bundle_name(id);
    // Cheap checks of the caller's values first, then the key, then the bundle.
    if (change_ref.empty()) {
        return fail(Errc::invalid_argument, name + ": an approval needs a change-order reference");
    }
    if (change_ref.size() > rollout::Approval::kMaxChangeRefLength || !valid_text(change_ref)) {
        return fail(Errc::invalid_argument,
                    name + ": change reference must be UTF-8 text without control characters, at most " +
                        std::to_string(rollout::Approval::kMaxChangeRefLength) + " bytes");
    }
    if (note.size() > rollout::Approval::kMaxNoteLength || !valid_text(note)) {
        return fail(Errc::invalid_argument, name + ": note must be UTF-8 text without control characters, at most " +
                                                std::to_string(rollout::Approval::kMaxNoteLength) + " bytes");
    }
    const crypto::PublicKey key = approver.public_key();
    const auto& approvers = root.role(crypto::Role::approver).keys;
    if (std::find(approvers.begin(), approvers.end(), key) == approvers.end()) {
        return fail(Errc::untrusted, "key " + key.to_text() + " is not an approver in trust root v" +
                                         std::to_string(root.version) + " (which lists " +
                                         std::to_string(approvers.size()) + " approver keys)");
    }
    auto record = get_bundle(db, id);
    if (!record) return std::unexpected(record.error());

    rollout::Approval approval;
    approval.bundle = id;
    approval.metadata_digest = record->metadata_digest;
    approval.change_ref = change_ref;
    approval.note = note;
    approval.approved_at = now;
    crypto::Envelope envelope = approval.sign(approver);
    // Store only what an agent will accept: the same check the manifest gets.
    if (auto verified = rollout::verify_approval(envelope, root, id, record->metadata_digest); !verified) {
        return fail(Errc::internal, name + ": the new approval does not verify: " + verified.error().message());
    }
    auto bytes = envelope.encode();
    if (!bytes) return std::unexpected(bytes.error().with_context(name));

    // One approval per approver and bundle: a new one replaces the old
    // (the primary key), and counts as the newest.
    auto insert = db.prepare(
        "INSERT OR REPLACE INTO approvals (bundle_id, approver, change_ref, note, approved_at, envelope) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    insert->bind(1, rollout::to_hex(id))
        .bind(2, key.to_text())
        .bind(3, change_ref)
        .bind(4, note)
        .bind(5, format_timestamp(now))
        .bind_blob(6, *bytes);
    if (auto ok = insert->run(); !ok) return std::unexpected(ok.error().with_context(name));
    return ApprovalRecord{key, std::move(change_ref), std::move(note), now, std::move(envelope)};
}

}  // namespace patchwave::orchestrator
