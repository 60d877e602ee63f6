// The agent's trust: the root it pinned at install, walked forward through the
// rotations it adopted since, and its own certificate checked against it.
#pragma once

#include <filesystem>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "crypto/trust_root.hpp"
#include "rollout/certificate.hpp"

namespace patchwave::agent {

inline constexpr std::size_t kMaxDocumentFile = 1024 * 1024;

/// Reads and decodes one envelope file. Errc::not_found / io / parse naming the file.
Result<crypto::Envelope> read_envelope_file(const std::filesystem::path& path);

/// The pinned root (`pinned`, verified as an initial root), then every
/// "root-v<N>.env" in `adopted_dir` that continues the chain version by
/// version (a gap ends the walk). As in TUF only the last must be unexpired.
/// Errc::untrusted naming the file that failed.
Result<crypto::TrustRoot> load_trust_root(const std::filesystem::path& pinned, const std::filesystem::path& adopted_dir,
                                          Timestamp now);

/// Saves an adopted root as "root-v<N>.env" (atomic) for the next start.
Status save_adopted_root(const std::filesystem::path& adopted_dir, const crypto::TrustRoot& root,
                         std::span<const std::uint8_t> envelope);

/// This agent's certificate file, verified against `root` (enrollment role,
/// not expired) and bound to `agent` (the identity key's id): a host cannot
/// present another host's certificate. Returns the certificate and its bytes.
struct LoadedCertificate {
    rollout::AgentCertificate certificate;
    std::vector<std::uint8_t> envelope;
};
Result<LoadedCertificate> load_certificate(const std::filesystem::path& path, const crypto::TrustRoot& root,
                                           const rollout::AgentId& agent, Timestamp now);

}  // namespace patchwave::agent
