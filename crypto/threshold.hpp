// K-of-N signature checks: how many distinct allowed keys validly signed an
// envelope. Duplicates, aliased key ids and unknown keys never count twice or at all.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "crypto/envelope.hpp"
#include "crypto/keys.hpp"

namespace patchwave::crypto {

/// Which keys counted, and why the others did not, for messages and audits.
struct SignatureTally {
    std::vector<PublicKey> valid_signers;  ///< distinct keys with a good signature
    std::size_t unknown = 0;               ///< key id not among the allowed keys
    std::size_t invalid = 0;               ///< allowed key, signature does not verify
    std::size_t duplicate = 0;             ///< a key that already counted signed again
};

/// Counts the signatures on `envelope` made by distinct keys in `allowed`.
/// Each signature is checked only against the key its key id names; a key id
/// is computed from the key, never trusted from the document.
SignatureTally tally_signatures(const Envelope& envelope, std::span<const PublicKey> allowed);

/// Verifies, in this order, that the envelope has the expected type, that the
/// threshold is sane (1 <= K <= distinct allowed keys) and that at least K
/// distinct allowed keys signed it. Errc::untrusted otherwise, with a message
/// naming `role` and the counts ("release: 1 of 2 required signatures ...").
Result<SignatureTally> verify_threshold(const Envelope& envelope, std::string_view expected_type,
                                        std::span<const PublicKey> allowed, std::size_t threshold,
                                        std::string_view role);

}  // namespace patchwave::crypto
