#include "common/json_fields.hpp"

#include <vector>

namespace patchwave {

Result<nlohmann::json> parse_strict_json(std::string_view text, std::size_t max_depth) {
    std::vector<std::set<std::string>> open_objects;
    std::string problem;
    const auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using Event = nlohmann::json::parse_event_t;
        if (!problem.empty()) return false;
        if (static_cast<std::size_t>(depth) > max_depth) {
            problem = "nested deeper than " + std::to_string(max_depth) + " levels";
            return false;
        }
        if (event == Event::object_start) {
            open_objects.emplace_back();
        } else if (event == Event::object_end) {
            if (!open_objects.empty()) open_objects.pop_back();
        } else if (event == Event::key && !open_objects.empty()) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!open_objects.back().insert(key).second) {
                problem = "duplicate key \"" + key + "\"";
                return false;
            }
        }
        return true;
    };
    // allow_exceptions=false: a syntax error yields a "discarded" value instead of throwing.
    nlohmann::json result = nlohmann::json::parse(text.begin(), text.end(), callback, false);
    if (!problem.empty()) return fail(Errc::parse, "invalid JSON: " + problem);
    if (result.is_discarded()) return fail(Errc::parse, "invalid JSON");
    return result;
}

Result<JsonFields> JsonFields::open(const nlohmann::json& value, std::string path) {
    if (!value.is_object()) {
        return fail(Errc::parse, (path.empty() ? std::string("document") : path) + ": expected an object");
    }
    return JsonFields(value, std::move(path));
}

std::string JsonFields::path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

Result<const nlohmann::json*> JsonFields::lookup(std::string_view key, bool required) {
    seen_.emplace(key);
    const auto it = object_->find(key);
    if (it == object_->end()) {
        if (required) return fail(Errc::parse, path_of(key) + ": missing");
        return nullptr;
    }
    return &*it;
}

Result<const nlohmann::json*> JsonFields::value(std::string_view key) { return lookup(key, true); }
Result<const nlohmann::json*> JsonFields::optional_value(std::string_view key) { return lookup(key, false); }

Result<std::optional<std::string>> JsonFields::optional_string(std::string_view key) {
    auto found = lookup(key, false);
    if (!found) return std::unexpected(found.error());
    if (*found == nullptr) return std::optional<std::string>{};
    if (!(*found)->is_string()) return fail(Errc::parse, path_of(key) + ": expected a string");
    return std::optional<std::string>((*found)->get<std::string>());
}

Result<std::string> JsonFields::string(std::string_view key) {
    auto found = optional_string(key);
    if (!found) return std::unexpected(found.error());
    if (!*found) return fail(Errc::parse, path_of(key) + ": missing");
    return std::move(**found);
}

Result<std::optional<std::uint64_t>> JsonFields::optional_uint(std::string_view key) {
    auto found = lookup(key, false);
    if (!found) return std::unexpected(found.error());
    if (*found == nullptr) return std::optional<std::uint64_t>{};
    if (!(*found)->is_number_unsigned()) {
        return fail(Errc::parse, path_of(key) + ": expected a non-negative integer");
    }
    return std::optional<std::uint64_t>((*found)->get<std::uint64_t>());
}

Result<std::uint64_t> JsonFields::uint(std::string_view key) {
    auto found = optional_uint(key);
    if (!found) return std::unexpected(found.error());
    if (!*found) return fail(Errc::parse, path_of(key) + ": missing");
    return **found;
}

Result<std::optional<bool>> JsonFields::optional_boolean(std::string_view key) {
    auto found = lookup(key, false);
    if (!found) return std::unexpected(found.error());
    if (*found == nullptr) return std::optional<bool>{};
    if (!(*found)->is_boolean()) return fail(Errc::parse, path_of(key) + ": expected true or false");
    return std::optional<bool>((*found)->get<bool>());
}

Result<bool> JsonFields::boolean(std::string_view key) {
    auto found = optional_boolean(key);
    if (!found) return std::unexpected(found.error());
    if (!*found) return fail(Errc::parse, path_of(key) + ": missing");
    return **found;
}

Status JsonFields::finish() const {
    for (const auto& [key, unused] : object_->items()) {
        if (!seen_.contains(key)) return fail(Errc::parse, path_of(key) + ": unknown field");
    }
    return {};
}

}  // namespace patchwave
