#include "crypto/trust_root.hpp"

#include <set>

#include "common/json_fields.hpp"
#include "crypto/threshold.hpp"

namespace patchwave::crypto {
namespace {

std::unexpected<Error> untrusted(const std::string& message) { return fail(Errc::untrusted, message); }

Result<RoleKeys> parse_role(const nlohmann::json& value, const std::string& path, bool approver,
                            std::uint32_t& emergency) {
    auto fields = JsonFields::open(value, path);
    if (!fields) return std::unexpected(fields.error());
    RoleKeys role;
    auto keys = fields->value("keys");
    if (!keys) return std::unexpected(keys.error());
    if (!(*keys)->is_array()) return fail(Errc::parse, fields->path_of("keys") + ": expected an array");
    for (const auto& entry : **keys) {
        if (!entry.is_string()) return fail(Errc::parse, fields->path_of("keys") + ": expected strings");
        auto key = PublicKey::from_text(entry.get<std::string>());
        if (!key) return std::unexpected(key.error().with_context(fields->path_of("keys")));
        role.keys.push_back(*key);
    }
    auto threshold = fields->uint("threshold");
    if (!threshold) return std::unexpected(threshold.error());
    if (*threshold > 1000) return fail(Errc::parse, fields->path_of("threshold") + ": too large");
    role.threshold = static_cast<std::uint32_t>(*threshold);
    if (approver) {
        auto value_e = fields->uint("emergency_threshold");
        if (!value_e) return std::unexpected(value_e.error());
        if (*value_e > 1000) return fail(Errc::parse, fields->path_of("emergency_threshold") + ": too large");
        emergency = static_cast<std::uint32_t>(*value_e);
    }
    if (auto done = fields->finish(); !done) return std::unexpected(done.error());
    return role;
}

}  // namespace

std::string_view to_string(Role role) {
    switch (role) {
        case Role::root: return "root";
        case Role::release: return "release";
        case Role::operator_: return "operator";
        case Role::approver: return "approver";
        case Role::enrollment: return "enrollment";
    }
    return "unknown";
}

Result<Role> role_from_string(std::string_view text) {
    for (Role role : kAllRoles) {
        if (to_string(role) == text) return role;
    }
    return fail(Errc::invalid_argument, "unknown role \"" + std::string(text) +
                                            "\" (use root, release, operator, approver or enrollment)");
}

Status TrustRoot::validate() const {
    if (version == 0) return fail(Errc::parse, "version: must be 1 or more");
    for (Role which : kAllRoles) {
        const RoleKeys& entry = role(which);
        const std::string name = "roles." + std::string(to_string(which));
        if (entry.keys.empty()) return fail(Errc::parse, name + ".keys: at least one key is required");
        const std::set<PublicKey> distinct(entry.keys.begin(), entry.keys.end());
        if (distinct.size() != entry.keys.size()) return fail(Errc::parse, name + ".keys: a key is listed twice");
        if (entry.threshold == 0 || entry.threshold > entry.keys.size()) {
            return fail(Errc::parse, name + ".threshold: " + std::to_string(entry.threshold) + " is not 1-" +
                                         std::to_string(entry.keys.size()));
        }
    }
    const auto approvers = role(Role::approver).keys.size();
    if (approver_emergency_threshold == 0 || approver_emergency_threshold > approvers) {
        return fail(Errc::parse, "roles.approver.emergency_threshold: " +
                                     std::to_string(approver_emergency_threshold) + " is not 1-" +
                                     std::to_string(approvers));
    }
    return {};
}

std::string TrustRoot::to_json() const {
    nlohmann::json roles_json = nlohmann::json::object();
    for (Role which : kAllRoles) {
        nlohmann::json keys = nlohmann::json::array();
        for (const auto& key : role(which).keys) keys.push_back(key.to_text());
        nlohmann::json entry = {{"keys", keys}, {"threshold", role(which).threshold}};
        if (which == Role::approver) entry["emergency_threshold"] = approver_emergency_threshold;
        roles_json[std::string(to_string(which))] = std::move(entry);
    }
    const nlohmann::json document = {
        {"version", version}, {"expires", format_timestamp(expires)}, {"roles", std::move(roles_json)}};
    return document.dump(2) + "\n";
}

Result<TrustRoot> TrustRoot::parse(std::string_view json) {
    auto document = parse_strict_json(json);
    if (!document) return std::unexpected(document.error().with_context("trust root"));
    auto fields = JsonFields::open(*document, "");
    if (!fields) return std::unexpected(fields.error().with_context("trust root"));
    TrustRoot root;
    auto context = [](Error e) { return std::unexpected(std::move(e).with_context("trust root")); };

    auto version = fields->uint("version");
    if (!version) return context(version.error());
    root.version = *version;
    auto expires_text = fields->string("expires");
    if (!expires_text) return context(expires_text.error());
    auto expires = parse_timestamp(*expires_text);
    if (!expires) return context(Error(Errc::parse, "expires: " + expires.error().message()));
    root.expires = *expires;

    auto roles_value = fields->value("roles");
    if (!roles_value) return context(roles_value.error());
    auto roles = JsonFields::open(**roles_value, "roles");
    if (!roles) return context(roles.error());
    for (Role which : kAllRoles) {
        auto entry = roles->value(to_string(which));
        if (!entry) return context(entry.error());
        auto parsed = parse_role(**entry, roles->path_of(to_string(which)), which == Role::approver,
                                 root.approver_emergency_threshold);
        if (!parsed) return context(parsed.error());
        root.role(which) = std::move(*parsed);
    }
    if (auto done = roles->finish(); !done) return context(done.error());
    if (auto done = fields->finish(); !done) return context(done.error());
    if (auto valid = root.validate(); !valid) return context(valid.error());
    return root;
}

Result<Envelope> TrustRoot::sign(const TrustRoot& root, std::span<const PrivateKey* const> signers) {
    if (auto valid = root.validate(); !valid) return std::unexpected(valid.error().with_context("trust root"));
    Envelope envelope{std::string(kEnvelopeType), root.to_json(), {}};
    for (const PrivateKey* key : signers) envelope.sign(*key);
    return envelope;
}

Result<TrustRoot> verify_initial_root(const Envelope& envelope, Timestamp now) {
    if (envelope.type != TrustRoot::kEnvelopeType) {
        return untrusted("expected a trust root, got a \"" + envelope.type + "\" document");
    }
    // A pinned root is trusted on first use: its own keys are all there is to check against.
    auto root = TrustRoot::parse(envelope.body);
    if (!root) return std::unexpected(root.error());
    const RoleKeys& keys = root->role(Role::root);
    auto signed_ok = verify_threshold(envelope, TrustRoot::kEnvelopeType, keys.keys, keys.threshold,
                                      "trust root v" + std::to_string(root->version) + ": root role");
    if (!signed_ok) return std::unexpected(signed_ok.error());
    if (root->expired_at(now)) {
        return untrusted("trust root v" + std::to_string(root->version) + " expired at " +
                         format_timestamp(root->expires));
    }
    return root;
}

Result<TrustRoot> verify_next_root(const TrustRoot& trusted, const Envelope& next, Timestamp now,
                                   bool check_expiry) {
    const std::string next_name = "trust root v" + std::to_string(trusted.version + 1);
    const RoleKeys& old_keys = trusted.role(Role::root);
    auto by_old = verify_threshold(next, TrustRoot::kEnvelopeType, old_keys.keys, old_keys.threshold,
                                   next_name + ": keys of trusted v" + std::to_string(trusted.version));
    if (!by_old) return std::unexpected(by_old.error());

    auto root = TrustRoot::parse(next.body);
    if (!root) return std::unexpected(root.error());
    if (root->version != trusted.version + 1) {
        return untrusted("trust root v" + std::to_string(root->version) + " does not follow trusted v" +
                         std::to_string(trusted.version) + " (expected v" + std::to_string(trusted.version + 1) +
                         "; versions may not be skipped or rolled back)");
    }
    const RoleKeys& new_keys = root->role(Role::root);
    auto by_new = verify_threshold(next, TrustRoot::kEnvelopeType, new_keys.keys, new_keys.threshold,
                                   next_name + ": its own root keys");
    if (!by_new) return std::unexpected(by_new.error());
    if (check_expiry && root->expired_at(now)) {
        return untrusted(next_name + " expired at " + format_timestamp(root->expires));
    }
    return root;
}

Result<TrustRoot> verify_root_chain(const TrustRoot& trusted, std::span<const Envelope> chain, Timestamp now) {
    TrustRoot current = trusted;
    for (std::size_t i = 0; i < chain.size(); ++i) {
        const bool last = i + 1 == chain.size();
        auto next = verify_next_root(current, chain[i], now, last);
        if (!next) return std::unexpected(next.error());
        current = std::move(*next);
    }
    if (chain.empty() && current.expired_at(now)) {
        return untrusted("trust root v" + std::to_string(current.version) + " expired at " +
                         format_timestamp(current.expires));
    }
    return current;
}

}  // namespace patchwave::crypto
