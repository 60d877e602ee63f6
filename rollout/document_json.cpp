#include "rollout/document_json.hpp"

#include <algorithm>

#include "common/hex.hpp"
#include "rollout/ids.hpp"

namespace patchwave::rollout::detail {
namespace {

std::unexpected<Error> bad(const JsonFields& fields, std::string_view key, std::string_view message) {
    return fail(Errc::parse, fields.path_of(key) + ": " + std::string(message));
}

std::string size_text(std::size_t bytes) {
    if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
    return std::to_string(bytes) + " bytes";
}

}  // namespace

std::string dump_json(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status check_body_size(std::string_view body, std::size_t cap, std::string_view document) {
    if (body.size() > cap) {
        return fail(Errc::limit, std::string(document) + ": body of " + std::to_string(body.size()) +
                                     " bytes is over the " + size_text(cap) + " cap");
    }
    return {};
}

Result<nlohmann::json> parse_body(std::string_view body, std::size_t cap, std::string_view document) {
    if (auto size = check_body_size(body, cap, document); !size) return std::unexpected(std::move(size.error()));
    auto json = parse_strict_json(body);
    if (!json) return std::unexpected(std::move(json.error()).with_context(document));
    return json;
}

Result<std::string> read_text(JsonFields& fields, std::string_view key, std::size_t min_length, std::size_t max) {
    auto text = fields.string(key);
    if (!text) return std::unexpected(std::move(text.error()));
    if (text->size() < min_length) return bad(fields, key, "must not be empty");
    if (text->size() > max) return bad(fields, key, "longer than " + std::to_string(max) + " bytes");
    const bool control = std::any_of(text->begin(), text->end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && c != '\t' && c != '\n') || byte == 0x7f;
    });
    if (control) return bad(fields, key, "contains a control character");
    return text;
}

Result<std::array<std::uint8_t, 32>> read_hex32(JsonFields& fields, std::string_view key) {
    auto text = fields.string(key);
    if (!text) return std::unexpected(std::move(text.error()));
    auto bytes = from_hex_fixed<32>(*text);
    if (!bytes) return bad(fields, key, bytes.error().message());
    // One text form per value: signed bodies must not have two spellings.
    if (::patchwave::to_hex(std::span<const std::uint8_t>(*bytes)) != *text) {
        return bad(fields, key, "\"" + *text + "\" is not lower-case hex");
    }
    return *bytes;
}

Result<std::optional<Timestamp>> read_optional_time(JsonFields& fields, std::string_view key) {
    auto text = fields.optional_string(key);
    if (!text) return std::unexpected(std::move(text.error()));
    if (!*text) return std::optional<Timestamp>{};
    auto time = parse_timestamp(**text);
    if (!time) return bad(fields, key, time.error().message());
    return std::optional<Timestamp>(*time);
}

Result<Timestamp> read_time(JsonFields& fields, std::string_view key) {
    auto time = read_optional_time(fields, key);
    if (!time) return std::unexpected(std::move(time.error()));
    if (!*time) return bad(fields, key, "missing");
    return **time;
}

Result<Duration> read_duration(JsonFields& fields, std::string_view key) {
    auto text = fields.string(key);
    if (!text) return std::unexpected(std::move(text.error()));
    auto duration = parse_duration(*text);
    if (!duration) return bad(fields, key, duration.error().message());
    return *duration;
}

Result<Percent> read_percent(JsonFields& fields, std::string_view key) {
    auto text = fields.string(key);
    if (!text) return std::unexpected(std::move(text.error()));
    auto percent = parse_percent(*text);
    if (!percent) return bad(fields, key, percent.error().message());
    return *percent;
}

Result<std::uint64_t> read_uint(JsonFields& fields, std::string_view key, std::uint64_t min, std::uint64_t max) {
    auto value = fields.uint(key);
    if (!value) return std::unexpected(std::move(value.error()));
    if (*value < min || *value > max) {
        return bad(fields, key, std::to_string(*value) + " is not " + std::to_string(min) + "-" + std::to_string(max));
    }
    return *value;
}

Result<const nlohmann::json*> read_array(JsonFields& fields, std::string_view key, std::size_t max_count) {
    auto value = fields.value(key);
    if (!value) return std::unexpected(std::move(value.error()));
    if (!(*value)->is_array()) return bad(fields, key, "expected an array");
    if ((*value)->size() > max_count) {
        return fail(Errc::limit, fields.path_of(key) + ": " + std::to_string((*value)->size()) +
                                     " entries, more than " + std::to_string(max_count));
    }
    return *value;
}

Result<std::map<std::string, std::string>> read_labels(JsonFields& fields, std::string_view key,
                                                       std::size_t max_count) {
    auto value = fields.value(key);
    if (!value) return std::unexpected(std::move(value.error()));
    if (!(*value)->is_object()) return bad(fields, key, "expected an object of strings");
    if ((*value)->size() > max_count) {
        return fail(Errc::limit, fields.path_of(key) + ": " + std::to_string((*value)->size()) +
                                     " entries, more than " + std::to_string(max_count));
    }
    std::map<std::string, std::string> labels;
    for (const auto& [name, text] : (*value)->items()) {
        const std::string path = fields.path_of(key) + "." + name;
        if (!is_valid_label(name)) {
            return fail(Errc::parse, fields.path_of(key) + ": key \"" + name +
                                         "\" is not 1-63 characters of [A-Za-z0-9._-]");
        }
        if (!text.is_string()) return fail(Errc::parse, path + ": expected a string");
        const auto& label = text.get_ref<const std::string&>();
        if (!is_valid_label(label)) {
            return fail(Errc::parse, path + ": \"" + label + "\" is not 1-63 characters of [A-Za-z0-9._-]");
        }
        labels.emplace(name, label);
    }
    return labels;
}

std::unexpected<Error> refuse(std::string_view document, std::string_view message) {
    return fail(Errc::untrusted, std::string(document) + ": " + std::string(message));
}

std::unexpected<Error> refuse(std::string_view document, std::string_view kind, const Error& cause) {
    std::string_view message = cause.message();
    const std::string prefix = std::string(kind) + ": ";
    if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
    return refuse(document, message);
}

Result<crypto::SignatureTally> verify_envelope(const crypto::Envelope& envelope, std::string_view expected_type,
                                               std::size_t body_cap, std::span<const crypto::PublicKey> allowed,
                                               std::size_t threshold, std::string_view role,
                                               std::string_view document) {
    // Domain separation first: a status record must never be judged as a control record.
    if (envelope.type != expected_type) {
        return refuse(document, "expected a \"" + std::string(expected_type) + "\" document, got \"" +
                                    envelope.type + "\"");
    }
    // Size before signatures: checking a huge body costs a hash of all of it.
    if (envelope.body.size() > body_cap) {
        return refuse(document, "body of " + std::to_string(envelope.body.size()) + " bytes is over the " +
                                    size_text(body_cap) + " cap");
    }
    auto tally = crypto::verify_threshold(envelope, expected_type, allowed, threshold, role);
    if (!tally) return refuse(document, tally.error().message());
    return tally;
}

Result<crypto::SignatureTally> verify_role_envelope(const crypto::Envelope& envelope, std::string_view expected_type,
                                                    std::size_t body_cap, const crypto::TrustRoot& root,
                                                    crypto::Role role, std::string_view document) {
    const crypto::RoleKeys& keys = root.role(role);
    return verify_envelope(envelope, expected_type, body_cap, keys.keys, keys.threshold, crypto::to_string(role),
                           document);
}

}  // namespace patchwave::rollout::detail
