#include "net/gossip/rollout_verifier.hpp"

#include "crypto/threshold.hpp"
#include "net/gossip/stream_message.hpp"
#include "rollout/control_record.hpp"
#include "rollout/manifest.hpp"
#include "rollout/status_record.hpp"

namespace patchwave::net::gossip {

namespace {

std::unexpected<Error> mismatch(const RecordHeader& claimed, std::string_view what) {
    return fail(Errc::untrusted, to_string(claimed) + ": the signed record " + std::string(what));
}

Status check_version(const RecordHeader& claimed, std::uint64_t signed_version) {
    if (signed_version != claimed.version) {
        return mismatch(claimed, "is version " + std::to_string(signed_version));
    }
    return {};
}

}  // namespace

RolloutVerifier::RolloutVerifier(crypto::TrustRoot root, std::function<Timestamp()> now)
    : root_(std::move(root)), now_(std::move(now)) {}

Result<MemberIdentity> RolloutVerifier::admit_member(ByteView certificate_envelope) {
    auto envelope = crypto::Envelope::decode(certificate_envelope, kMaxCertificateSize);
    if (!envelope) return std::unexpected(std::move(envelope.error()).with_context("member certificate"));
    auto certificate = rollout::verify_certificate(*envelope, root_, now_());
    if (!certificate) return std::unexpected(certificate.error());
    MemberId id = certificate->agent_id();
    members_.insert_or_assign(
        id, Admitted{Bytes(certificate_envelope.begin(), certificate_envelope.end()), std::move(*certificate)});
    return MemberIdentity{id};
}

Bytes RolloutVerifier::certificate(const MemberId& id) const {
    auto it = members_.find(id);
    return it == members_.end() ? Bytes{} : it->second.envelope;
}

Status RolloutVerifier::verify_record(const RecordHeader& claimed, ByteView bytes, std::uint64_t held_version) {
    auto envelope = crypto::Envelope::decode(bytes, Record::kMaxEnvelopeSize);
    if (!envelope) return std::unexpected(envelope.error());
    const bool role_signed = claimed.key.type != RecordType::status && claimed.key.type != RecordType::certificate;
    if (role_signed && claimed.key.origin != MemberId{}) return mismatch(claimed, "is signed by a role, not a member");
    switch (claimed.key.type) {
        case RecordType::status: {
            if (!claimed.key.id.empty()) return mismatch(claimed, "has no id");
            auto it = members_.find(claimed.key.origin);
            if (it == members_.end()) {
                return fail(Errc::untrusted, to_string(claimed) + ": no admitted certificate for its origin");
            }
            auto status = rollout::verify_status(*envelope, it->second.certificate, held_version);
            if (!status) return std::unexpected(status.error());
            return check_version(claimed, status->sequence);
        }
        case RecordType::manifest: {
            auto manifest = rollout::verify_manifest(*envelope, root_, now_(), held_version);
            if (!manifest) return std::unexpected(manifest.error());
            if (manifest->rollout_id != claimed.key.id)
                return mismatch(claimed, "is for rollout " + manifest->rollout_id);
            return check_version(claimed, manifest->version);
        }
        case RecordType::control: {
            auto control = rollout::verify_control(*envelope, root_, claimed.key.id, held_version);
            if (!control) return std::unexpected(control.error());
            return check_version(claimed, control->sequence);
        }
        case RecordType::root: {
            if (!claimed.key.id.empty()) return mismatch(claimed, "has no id");
            auto next = crypto::verify_next_root(root_, *envelope, now_());
            if (!next) return std::unexpected(next.error());
            return check_version(claimed, next->version);
        }
        case RecordType::certificate: {
            if (!claimed.key.id.empty()) return mismatch(claimed, "has no id");
            auto certificate = rollout::verify_certificate(*envelope, root_, now_());
            if (!certificate) return std::unexpected(certificate.error());
            if (certificate->agent_id() != claimed.key.origin) return mismatch(claimed, "is for another agent");
            auto issued = certificate->issued.time_since_epoch().count();
            return check_version(claimed, static_cast<std::uint64_t>(std::max<std::int64_t>(issued, 0)));
        }
    }
    return fail(Errc::parse, "unknown record type");
}

Status RolloutVerifier::still_trusted(const RecordHeader& header, ByteView bytes) {
    crypto::Role role = crypto::Role::release;
    switch (header.key.type) {
        case RecordType::manifest:
            role = crypto::Role::release;
            break;
        case RecordType::control:
            role = crypto::Role::operator_;
            break;
        case RecordType::certificate:
            role = crypto::Role::enrollment;
            break;
        case RecordType::root:
        case RecordType::status:
            return {};  // roots are a chain; statuses are signed by agent keys, not by a role
    }
    auto envelope = crypto::Envelope::decode(bytes, Record::kMaxEnvelopeSize);
    if (!envelope) return std::unexpected(envelope.error());
    const crypto::RoleKeys& keys = root_.role(role);
    auto tally = crypto::verify_threshold(*envelope, envelope->type, keys.keys, keys.threshold, crypto::to_string(role));
    if (!tally) {
        return fail(Errc::untrusted, to_string(header) + ": no longer signed by the " +
                                         std::string(crypto::to_string(role)) + " keys of trust root v" +
                                         std::to_string(root_.version) + ": " + tally.error().message());
    }
    return {};
}

}  // namespace patchwave::net::gossip
