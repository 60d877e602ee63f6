#include "agent/trust_state.hpp"

#include "common/file_io.hpp"

namespace patchwave::agent {

Result<crypto::Envelope> read_envelope_file(const std::filesystem::path& path) {
    auto bytes = read_file(path, kMaxDocumentFile);
    if (!bytes) return std::unexpected(std::move(bytes.error()).with_context(path.string()));
    auto envelope = crypto::Envelope::decode(*bytes);
    if (!envelope) return std::unexpected(std::move(envelope.error()).with_context(path.string()));
    return std::move(*envelope);
}

Result<crypto::TrustRoot> load_trust_root(const std::filesystem::path& pinned, const std::filesystem::path& adopted_dir,
                                          Timestamp now) {
    auto envelope = read_envelope_file(pinned);
    if (!envelope) return std::unexpected(envelope.error());
    std::vector<crypto::Envelope> chain;
    std::vector<std::filesystem::path> chain_files;
    // Expiry is judged on the last root of the chain only (verify_root_chain
    // below): the pinned one may have expired while newer roots were adopted,
    // so its own signatures are checked here as of the epoch.
    auto first = crypto::verify_initial_root(*envelope, Timestamp{});
    if (!first) return std::unexpected(std::move(first.error()).with_context("pinned trust root " + pinned.string()));
    for (std::uint64_t version = first->version + 1; version < first->version + 10'000; ++version) {
        auto path = adopted_dir / ("root-v" + std::to_string(version) + ".env");
        auto next = read_envelope_file(path);
        if (!next) {
            if (next.error().is(Errc::not_found)) break;
            return std::unexpected(next.error());
        }
        chain.push_back(std::move(*next));
        chain_files.push_back(path);
    }
    // Step by step, so an error names the file that broke the chain; as in
    // TUF only the last root must be unexpired (checked after the walk).
    crypto::TrustRoot current = *first;
    for (std::size_t i = 0; i < chain.size(); ++i) {
        auto next = crypto::verify_next_root(current, chain[i], now, /*check_expiry=*/false);
        if (!next) return std::unexpected(std::move(next.error()).with_context("adopted trust root " + chain_files[i].string()));
        current = std::move(*next);
    }
    if (now >= current.expires) {
        const std::string file = chain_files.empty() ? pinned.string() : chain_files.back().string();
        return fail(Errc::untrusted, "trust root v" + std::to_string(current.version) + " expired at " +
                                         format_timestamp(current.expires) + " (" + file +
                                         "); install a newer root from the orchestrator (patchwave trust export)");
    }
    return current;
}

Status save_adopted_root(const std::filesystem::path& adopted_dir, const crypto::TrustRoot& root,
                         std::span<const std::uint8_t> envelope) {
    auto path = adopted_dir / ("root-v" + std::to_string(root.version) + ".env");
    std::string_view bytes(reinterpret_cast<const char*>(envelope.data()), envelope.size());
    return with_context(write_file_atomic(path, bytes, 0600), "saving adopted trust root");
}

Result<LoadedCertificate> load_certificate(const std::filesystem::path& path, const crypto::TrustRoot& root,
                                           const rollout::AgentId& agent, Timestamp now) {
    auto bytes = read_file(path, kMaxDocumentFile);
    if (!bytes) return std::unexpected(std::move(bytes.error()).with_context(path.string()));
    auto envelope = crypto::Envelope::decode(*bytes);
    if (!envelope) return std::unexpected(std::move(envelope.error()).with_context(path.string()));
    auto certificate = rollout::verify_certificate(*envelope, root, now);
    if (!certificate) return std::unexpected(std::move(certificate.error()).with_context(path.string()));
    if (certificate->agent_id() != agent) {
        return fail(Errc::untrusted, path.string() + ": the certificate is for agent " +
                                         rollout::to_hex(certificate->agent_id()) + ", not this agent's identity key " +
                                         rollout::to_hex(agent) + " (enroll this host's public key)");
    }
    LoadedCertificate loaded{std::move(*certificate), {bytes->begin(), bytes->end()}};
    return loaded;
}

}  // namespace patchwave::agent
