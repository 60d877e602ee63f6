// Strict JSON for signed documents: duplicate keys are refused at parse time,
// and JsonFields reads one object so that unknown or mistyped fields are errors.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace patchwave {

/// Parses JSON, refusing duplicate object keys (which a lenient parser would
/// silently resolve one way while a signer meant the other) and input nested
/// deeper than max_depth. Errors are Errc::parse and name the byte offset.
Result<nlohmann::json> parse_strict_json(std::string_view text, std::size_t max_depth = 32);

/// Reads the fields of one JSON object. Each getter remembers the key it was
/// asked for; finish() then refuses any field nobody asked for, so a typo in a
/// document is an error instead of a silently ignored setting. Error messages
/// name the field by its dotted path ("roles.release.threshold").
class JsonFields {
public:
    /// Fails unless `value` is an object.
    static Result<JsonFields> open(const nlohmann::json& value, std::string path);

    Result<std::string> string(std::string_view key);
    Result<std::optional<std::string>> optional_string(std::string_view key);
    Result<std::uint64_t> uint(std::string_view key);
    Result<std::optional<std::uint64_t>> optional_uint(std::string_view key);
    Result<bool> boolean(std::string_view key);
    Result<std::optional<bool>> optional_boolean(std::string_view key);
    /// The raw value of a present field of any type (object, array, ...).
    Result<const nlohmann::json*> value(std::string_view key);
    Result<const nlohmann::json*> optional_value(std::string_view key);

    /// The dotted path of a child field, for nested readers and messages.
    std::string path_of(std::string_view key) const;
    /// Errc::parse naming the first field that no getter asked for.
    Status finish() const;

private:
    JsonFields(const nlohmann::json& object, std::string path) : object_(&object), path_(std::move(path)) {}
    Result<const nlohmann::json*> lookup(std::string_view key, bool required);

    const nlohmann::json* object_;
    std::string path_;
    std::set<std::string, std::less<>> seen_;
};

}  // namespace patchwave
