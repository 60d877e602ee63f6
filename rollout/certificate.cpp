#include "rollout/certificate.hpp"

#include <algorithm>

#include "rollout/document_json.hpp"

namespace patchwave::rollout {
namespace {

constexpr std::string_view kDocument = "certificate";

bool valid_host(std::string_view host) {
    return !host.empty() && host.size() <= 253 && std::all_of(host.begin(), host.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '-' || c == '_';
           });
}

}  // namespace

std::string AgentCertificate::to_json() const {
    const nlohmann::json document = {
        {"agent_key", agent_key.to_text()},
        {"host", host},
        {"labels", labels},
        {"issued", format_timestamp(issued)},
        {"expires", format_timestamp(expires)},
    };
    return detail::dump_json(document);
}

Result<AgentCertificate> AgentCertificate::parse_json(std::string_view body) {
    auto json = detail::parse_body(body, kMaxBodySize, kDocument);
    if (!json) return std::unexpected(std::move(json.error()));
    auto context = [](Error error) { return std::unexpected(std::move(error).with_context(kDocument)); };
    auto fields = JsonFields::open(*json, "");
    if (!fields) return context(fields.error());

    AgentCertificate certificate;
    auto key_text = fields->string("agent_key");
    if (!key_text) return context(key_text.error());
    auto key = crypto::PublicKey::from_text(*key_text);
    if (!key) return context(Error(Errc::parse, "agent_key: " + key.error().message()));
    certificate.agent_key = *key;
    auto host = fields->string("host");
    if (!host) return context(host.error());
    if (!valid_host(*host)) {
        return context(Error(Errc::parse, "host: \"" + *host + "\" is not 1-253 characters of [A-Za-z0-9._-]"));
    }
    certificate.host = std::move(*host);
    auto labels = detail::read_labels(*fields, "labels", kMaxLabels);
    if (!labels) return context(labels.error());
    certificate.labels = std::move(*labels);
    auto issued = detail::read_time(*fields, "issued");
    if (!issued) return context(issued.error());
    certificate.issued = *issued;
    auto expires = detail::read_time(*fields, "expires");
    if (!expires) return context(expires.error());
    certificate.expires = *expires;
    if (certificate.expires <= certificate.issued) {
        return context(Error(Errc::parse, "expires: " + format_timestamp(certificate.expires) +
                                              " is not after issued " + format_timestamp(certificate.issued)));
    }
    if (auto done = fields->finish(); !done) return context(done.error());
    return certificate;
}

crypto::Envelope AgentCertificate::sign(const crypto::PrivateKey& enrollment) const {
    crypto::Envelope envelope{std::string(kEnvelopeType), to_json(), {}};
    envelope.sign(enrollment);
    return envelope;
}

Result<AgentCertificate> verify_certificate(const crypto::Envelope& envelope, const crypto::TrustRoot& root,
                                            Timestamp now) {
    if (root.expired_at(now)) {
        return detail::refuse(kDocument, "trust root v" + std::to_string(root.version) + " expired at " +
                                             format_timestamp(root.expires) + "; update the trust root first");
    }
    auto signed_ok = detail::verify_role_envelope(envelope, AgentCertificate::kEnvelopeType,
                                                  AgentCertificate::kMaxBodySize, root, crypto::Role::enrollment,
                                                  kDocument);
    if (!signed_ok) return std::unexpected(std::move(signed_ok.error()));
    auto certificate = AgentCertificate::parse_json(envelope.body);
    if (!certificate) return detail::refuse(kDocument, kDocument, certificate.error());
    if (now >= certificate->expires) {
        return detail::refuse("certificate of \"" + certificate->host + "\"",
                              "expired at " + format_timestamp(certificate->expires));
    }
    return certificate;
}

}  // namespace patchwave::rollout
