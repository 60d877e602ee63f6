#include "rollout/approval.hpp"

#include "crypto/threshold.hpp"
#include "rollout/document_json.hpp"

namespace patchwave::rollout {
namespace {

constexpr std::string_view kDocument = "approval";

struct CheckedApproval {
    Approval body;
    std::vector<crypto::PublicKey> signers;  // distinct approver keys with a valid signature
};

// Type, size, at least one valid approver signature, then the body, then
// that it approves exactly this bundle and this metadata.
Result<CheckedApproval> check_approval(const crypto::Envelope& envelope, const crypto::TrustRoot& root,
                                       const BundleId& bundle, const crypto::Digest& digest) {
    const auto& approvers = root.role(crypto::Role::approver).keys;
    auto tally = detail::verify_envelope(envelope, Approval::kEnvelopeType, Approval::kMaxBodySize, approvers, 1,
                                         "approver", kDocument);
    if (!tally) return std::unexpected(std::move(tally.error()));
    auto approval = Approval::parse_json(envelope.body);
    if (!approval) return detail::refuse(kDocument, kDocument, approval.error());
    const std::string name = "approval \"" + approval->change_ref + "\"";
    if (approval->bundle != bundle) {
        return detail::refuse(name, "is for bundle " + short_hex(approval->bundle) + ", not " + short_hex(bundle));
    }
    if (approval->metadata_digest != digest) {
        return detail::refuse(name, "approves other metadata of bundle " + short_hex(bundle) + " (digest " +
                                        short_hex(approval->metadata_digest) + ", expected " + short_hex(digest) +
                                        ")");
    }
    return CheckedApproval{std::move(*approval), std::move(tally->valid_signers)};
}

}  // namespace

std::string Approval::to_json() const {
    const nlohmann::json document = {
        {"bundle", to_hex(bundle)},
        {"metadata_digest", to_hex(metadata_digest)},
        {"change_ref", change_ref},
        {"note", note},
        {"approved_at", format_timestamp(approved_at)},
    };
    return detail::dump_json(document);
}

Result<Approval> Approval::parse_json(std::string_view body) {
    auto json = detail::parse_body(body, kMaxBodySize, kDocument);
    if (!json) return std::unexpected(std::move(json.error()));
    auto fields = JsonFields::open(*json, "");
    if (!fields) return std::unexpected(std::move(fields.error()).with_context(kDocument));
    auto context = [](Error error) { return std::unexpected(std::move(error).with_context(kDocument)); };

    Approval approval;
    auto bundle = detail::read_hex32(*fields, "bundle");
    if (!bundle) return context(bundle.error());
    approval.bundle = *bundle;
    auto digest = detail::read_hex32(*fields, "metadata_digest");
    if (!digest) return context(digest.error());
    approval.metadata_digest = *digest;
    // Every approval ties to a change order, so an empty reference is refused.
    auto change_ref = detail::read_text(*fields, "change_ref", 1, kMaxChangeRefLength);
    if (!change_ref) return context(change_ref.error());
    approval.change_ref = std::move(*change_ref);
    auto note = detail::read_text(*fields, "note", 0, kMaxNoteLength);
    if (!note) return context(note.error());
    approval.note = std::move(*note);
    auto approved_at = detail::read_time(*fields, "approved_at");
    if (!approved_at) return context(approved_at.error());
    approval.approved_at = *approved_at;
    if (auto done = fields->finish(); !done) return context(done.error());
    return approval;
}

crypto::Envelope Approval::sign(const crypto::PrivateKey& approver) const {
    crypto::Envelope envelope{std::string(kEnvelopeType), to_json(), {}};
    envelope.sign(approver);
    return envelope;
}

Result<crypto::PublicKey> verify_approval(const crypto::Envelope& envelope, const crypto::TrustRoot& root,
                                          const BundleId& bundle, const crypto::Digest& metadata_digest) {
    auto checked = check_approval(envelope, root, bundle, metadata_digest);
    if (!checked) return std::unexpected(std::move(checked.error()));
    return checked->signers.front();
}

std::set<crypto::PublicKey> count_approvals(std::span<const crypto::Envelope> approvals,
                                            const crypto::TrustRoot& root, const BundleId& bundle,
                                            const crypto::Digest& metadata_digest) {
    // A set of keys, not a count of envelopes: the same approver signing twice
    // (or one envelope repeated) is one approval.
    std::set<crypto::PublicKey> approvers;
    for (const auto& envelope : approvals) {
        auto checked = check_approval(envelope, root, bundle, metadata_digest);
        if (!checked) continue;
        approvers.insert(checked->signers.begin(), checked->signers.end());
    }
    return approvers;
}

std::size_t approvals_required(const crypto::TrustRoot& root, bool emergency) {
    return emergency ? root.approver_emergency_threshold : root.role(crypto::Role::approver).threshold;
}

}  // namespace patchwave::rollout
