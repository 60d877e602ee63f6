#include "orchestrator/trust_store.hpp"

#include <algorithm>
#include <set>

#include "orchestrator/key_store.hpp"

namespace patchwave::orchestrator {

Status store_root(Database& db, const crypto::Envelope& envelope, Timestamp now) {
    auto root = crypto::TrustRoot::parse(envelope.body);
    if (!root) return std::unexpected(root.error());
    auto bytes = envelope.encode();
    if (!bytes) return std::unexpected(bytes.error());
    auto insert = db.prepare("INSERT INTO roots (version, envelope, created) VALUES (?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    insert->bind(1, static_cast<std::int64_t>(root->version)).bind_blob(2, *bytes).bind(3, format_timestamp(now));
    return insert->run();
}

namespace {
Result<crypto::Envelope> decode_root(const std::string& bytes) {
    auto envelope = crypto::Envelope::decode(bytes);
    if (!envelope) return std::unexpected(envelope.error().with_context("stored trust root"));
    return envelope;
}
}  // namespace

Result<StoredRoot> latest_root(Database& db) {
    auto query = db.prepare("SELECT envelope FROM roots ORDER BY version DESC LIMIT 1");
    if (!query) return std::unexpected(query.error());
    auto row = query->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return fail(Errc::not_found, "the home has no trust root");
    auto envelope = decode_root(query->column_blob(0));
    if (!envelope) return std::unexpected(envelope.error());
    auto root = crypto::TrustRoot::parse(envelope->body);
    if (!root) return std::unexpected(root.error());
    return StoredRoot{std::move(*root), std::move(*envelope)};
}

Result<std::vector<crypto::Envelope>> root_history(Database& db) {
    auto query = db.prepare("SELECT envelope FROM roots ORDER BY version");
    if (!query) return std::unexpected(query.error());
    std::vector<crypto::Envelope> history;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        auto envelope = decode_root(query->column_blob(0));
        if (!envelope) return std::unexpected(envelope.error());
        history.push_back(std::move(*envelope));
    }
    return history;
}

Result<crypto::TrustRoot> rotate_root(Home& home, const RotateRequest& request) {
    auto current = latest_root(home.db());
    if (!current) return std::unexpected(current.error());
    crypto::TrustRoot next = current->root;
    next.version = current->root.version + 1;
    next.expires = request.now + request.lifetime;
    crypto::RoleKeys& role = next.role(request.role);
    const std::string role_name(crypto::to_string(request.role));
    for (const auto& key : request.remove) {
        const auto found = std::find(role.keys.begin(), role.keys.end(), key);
        if (found == role.keys.end()) {
            return fail(Errc::invalid_argument, "--remove " + key.to_text() + ": not a " + role_name + " key");
        }
        role.keys.erase(found);
    }
    for (const auto& key : request.add) {
        if (std::find(role.keys.begin(), role.keys.end(), key) != role.keys.end()) {
            return fail(Errc::invalid_argument, "--add " + key.to_text() + ": already a " + role_name + " key");
        }
        role.keys.push_back(key);
    }
    if (request.threshold) role.threshold = *request.threshold;
    if (request.emergency_threshold) {
        if (request.role != crypto::Role::approver) {
            return fail(Errc::invalid_argument, "--emergency-threshold applies to the approver role only");
        }
        next.approver_emergency_threshold = *request.emergency_threshold;
    }
    if (auto valid = next.validate(); !valid) {
        return fail(Errc::invalid_argument, "the rotated trust root would be invalid: " + valid.error().message());
    }

    // Signed by a threshold of the old root keys and of the new ones: the
    // union, each key once.
    auto old_keys = signing_keys(home.keys_dir(), current->root, crypto::Role::root, 0, request.extra_signers);
    if (!old_keys) return std::unexpected(old_keys.error());
    auto new_keys = signing_keys(home.keys_dir(), next, crypto::Role::root, 0, request.extra_signers);
    if (!new_keys) {
        return std::unexpected(new_keys.error().with_context(
            "the new root keys must sign too (pass their private key files to --add)"));
    }
    std::vector<const crypto::PrivateKey*> signers;
    std::set<crypto::PublicKey> seen;
    for (const auto* keys : {&*old_keys, &*new_keys}) {
        for (const auto& key : *keys) {
            if (seen.insert(key.public_key()).second) signers.push_back(&key);
        }
    }
    auto envelope = crypto::TrustRoot::sign(next, signers);
    if (!envelope) return std::unexpected(envelope.error());
    // Exactly what an agent at v(n) will check; a bug here must not ship a root.
    auto verified = crypto::verify_next_root(current->root, *envelope, request.now);
    if (!verified) return std::unexpected(verified.error().with_context("internal check of the new root"));

    auto transaction = Transaction::begin(home.db());
    if (!transaction) return std::unexpected(transaction.error());
    if (auto ok = store_root(home.db(), *envelope, request.now); !ok) return std::unexpected(ok.error());
    if (auto ok = transaction->commit(); !ok) return std::unexpected(ok.error());
    return next;
}

}  // namespace patchwave::orchestrator
