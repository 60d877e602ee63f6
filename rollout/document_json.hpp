// Shared plumbing of the signed rollout documents (internal to rollout/): typed
// JSON field readers, size and count caps, and the verify-before-parse steps.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "common/json_fields.hpp"
#include "common/percent.hpp"
#include "common/timestamp.hpp"
#include "crypto/envelope.hpp"
#include "crypto/threshold.hpp"
#include "crypto/trust_root.hpp"

namespace patchwave::rollout::detail {

/// Compact JSON with sorted keys: the one serialization every document uses.
/// Invalid UTF-8 in a string is replaced (U+FFFD) instead of throwing.
std::string dump_json(const nlohmann::json& value);

/// Errc::limit when `body` is larger than `cap`: `manifest: body of N bytes is over the 256 KiB cap`.
Status check_body_size(std::string_view body, std::size_t cap, std::string_view document);

/// Strict parse (duplicate keys refused) of a body that passed check_body_size.
Result<nlohmann::json> parse_body(std::string_view body, std::size_t cap, std::string_view document);

/// Free text: at most `max` bytes, no control characters other than tab and
/// newline; `min_length` 1 makes it required-non-empty.
Result<std::string> read_text(JsonFields& fields, std::string_view key, std::size_t min_length, std::size_t max);
/// 64 hex characters (bundle ids, digests, agent ids).
Result<std::array<std::uint8_t, 32>> read_hex32(JsonFields& fields, std::string_view key);
Result<Timestamp> read_time(JsonFields& fields, std::string_view key);
Result<std::optional<Timestamp>> read_optional_time(JsonFields& fields, std::string_view key);
Result<Duration> read_duration(JsonFields& fields, std::string_view key);
Result<Percent> read_percent(JsonFields& fields, std::string_view key);
/// An unsigned integer in [min, max].
Result<std::uint64_t> read_uint(JsonFields& fields, std::string_view key, std::uint64_t min, std::uint64_t max);
/// An array of at most `max_count` elements (Errc::limit beyond).
Result<const nlohmann::json*> read_array(JsonFields& fields, std::string_view key, std::size_t max_count);
/// An object of string values whose keys and values pass is_valid_label, at
/// most `max_count` of them.
Result<std::map<std::string, std::string>> read_labels(JsonFields& fields, std::string_view key,
                                                       std::size_t max_count);

/// Errc::untrusted `DOCUMENT: message`.
std::unexpected<Error> refuse(std::string_view document, std::string_view message);
/// A body's parse error turned into a refusal of `document`: the parser's own
/// `kind: ` prefix (e.g. "manifest: ") is replaced by `document`, so the
/// message names the document once, as precisely as the caller knows it.
std::unexpected<Error> refuse(std::string_view document, std::string_view kind, const Error& cause);

/// The steps before a body may be parsed, in order: the envelope type, the
/// body size cap, then at least `threshold` distinct valid signatures by
/// `allowed` keys. Errc::untrusted naming `document` and `role`.
Result<crypto::SignatureTally> verify_envelope(const crypto::Envelope& envelope, std::string_view expected_type,
                                               std::size_t body_cap, std::span<const crypto::PublicKey> allowed,
                                               std::size_t threshold, std::string_view role,
                                               std::string_view document);

/// verify_envelope with the keys and threshold of a trust-root role.
Result<crypto::SignatureTally> verify_role_envelope(const crypto::Envelope& envelope, std::string_view expected_type,
                                                    std::size_t body_cap, const crypto::TrustRoot& root,
                                                    crypto::Role role, std::string_view document);

}  // namespace patchwave::rollout::detail
