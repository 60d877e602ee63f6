#include "crypto/threshold.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace patchwave::crypto {

SignatureTally tally_signatures(const Envelope& envelope, std::span<const PublicKey> allowed) {
    std::map<KeyId, PublicKey> by_id;
    for (const auto& key : allowed) by_id.emplace(key.id(), key);

    SignatureTally tally;
    std::set<PublicKey> counted;
    const std::vector<std::uint8_t> message = envelope.signing_message();
    for (const auto& entry : envelope.signatures) {
        const auto found = by_id.find(entry.key_id);
        if (found == by_id.end()) {
            ++tally.unknown;
            continue;
        }
        if (counted.contains(found->second)) {
            ++tally.duplicate;
            continue;
        }
        if (!found->second.verify(message, entry.signature)) {
            ++tally.invalid;
            continue;
        }
        counted.insert(found->second);
        tally.valid_signers.push_back(found->second);
    }
    return tally;
}

Result<SignatureTally> verify_threshold(const Envelope& envelope, std::string_view expected_type,
                                        std::span<const PublicKey> allowed, std::size_t threshold,
                                        std::string_view role) {
    if (envelope.type != expected_type) {
        return fail(Errc::untrusted, "expected a \"" + std::string(expected_type) + "\" document, got \"" +
                                         envelope.type + "\"");
    }
    const std::set<PublicKey> distinct(allowed.begin(), allowed.end());
    if (threshold == 0 || threshold > distinct.size()) {
        return fail(Errc::untrusted, std::string(role) + ": threshold " + std::to_string(threshold) +
                                         " cannot be met by " + std::to_string(distinct.size()) + " distinct keys");
    }
    SignatureTally tally = tally_signatures(envelope, allowed);
    if (tally.valid_signers.size() < threshold) {
        std::string message = std::string(role) + ": " + std::to_string(tally.valid_signers.size()) + " of " +
                              std::to_string(threshold) + " required signatures";
        std::vector<std::string> notes;
        if (tally.invalid) notes.push_back(std::to_string(tally.invalid) + " invalid");
        if (tally.unknown) notes.push_back(std::to_string(tally.unknown) + " by unknown keys");
        if (tally.duplicate) notes.push_back(std::to_string(tally.duplicate) + " duplicate");
        if (!notes.empty()) {
            message += " (";
            for (std::size_t i = 0; i < notes.size(); ++i) message += (i ? ", " : "") + notes[i];
            message += ")";
        }
        return fail(Errc::untrusted, std::move(message));
    }
    return tally;
}

}  // namespace patchwave::crypto
