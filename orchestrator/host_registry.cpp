#include "orchestrator/host_registry.hpp"

#include <nlohmann/json.hpp>

#include "common/hex.hpp"

namespace patchwave::orchestrator {

Status store_certificate(Database& db, const rollout::AgentCertificate& certificate,
                         const crypto::Envelope& envelope, Timestamp now) {
    auto bytes = envelope.encode();
    if (!bytes) return std::unexpected(bytes.error());
    auto insert = db.prepare(
        "INSERT OR REPLACE INTO hosts (agent_id, host, labels, expires, certificate, enrolled) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    nlohmann::json labels(certificate.labels);
    insert->bind(1, to_hex(certificate.agent_id()))
        .bind(2, certificate.host)
        .bind(3, labels.dump())
        .bind(4, format_timestamp(certificate.expires))
        .bind_blob(5, *bytes)
        .bind(6, format_timestamp(now));
    return insert->run();
}

Result<std::vector<KnownHost>> known_hosts(Database& db) {
    auto query = db.prepare("SELECT certificate, enrolled FROM hosts ORDER BY host, agent_id");
    if (!query) return std::unexpected(query.error());
    std::vector<KnownHost> hosts;
    for (;;) {
        auto row = query->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        auto envelope = crypto::Envelope::decode(query->column_blob(0));
        if (!envelope) return std::unexpected(envelope.error().with_context("stored certificate"));
        // Signed by this orchestrator and stored by it: parse, no re-verification.
        auto certificate = rollout::AgentCertificate::parse_json(envelope->body);
        if (!certificate) return std::unexpected(certificate.error().with_context("stored certificate"));
        auto enrolled = parse_timestamp(query->column_text(1));
        if (!enrolled) return std::unexpected(enrolled.error().with_context("stored certificate"));
        hosts.push_back({std::move(*certificate), std::move(*envelope), *enrolled});
    }
    return hosts;
}

}  // namespace patchwave::orchestrator
