#include "rollout/toml_fields.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <tuple>

#include <toml++/toml.h>

#include "common/byte_size.hpp"

namespace patchwave::rollout {

struct TomlFields::Document {
    toml::table root;
    std::string file_name;
};

namespace {

const toml::table& as_table(const void* table) { return *static_cast<const toml::table*>(table); }

std::size_t line_of_node(const toml::node& node, std::size_t fallback) {
    const std::size_t line = node.source().begin.line;
    return line == 0 ? fallback : line;
}

// "a string", "an integer", ... for "expected X, got Y" messages.
std::string_view describe(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        case toml::node_type::none: break;
    }
    return "nothing";
}

std::string range_text(std::int64_t min, std::int64_t max) {
    constexpr auto kLowest = std::numeric_limits<std::int64_t>::min();
    constexpr auto kHighest = std::numeric_limits<std::int64_t>::max();
    if (min != kLowest && max != kHighest) return "is not " + std::to_string(min) + "-" + std::to_string(max);
    if (min != kLowest) return "is below " + std::to_string(min);
    return "is above " + std::to_string(max);
}

std::string two_digits(int value) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%02d", value);
    return buffer;
}

// How a native TOML date-time looks in messages: 2026-11-24T01:00:00.
std::string local_text(const toml::date_time& value) {
    return std::to_string(value.date.year) + "-" + two_digits(value.date.month) + "-" + two_digits(value.date.day) +
           "T" + two_digits(value.time.hour) + ":" + two_digits(value.time.minute) + ":" +
           two_digits(value.time.second);
}

}  // namespace

Result<TomlFields> TomlFields::parse(std::string_view text, std::string_view file_name) {
    const std::string name(file_name);
    if (text.size() > kMaxDocumentSize) {
        return fail(Errc::parse, name + ": " + std::to_string(text.size()) + " bytes is more than the " +
                                     std::to_string(kMaxDocumentSize / 1024) + " KiB a TOML file may have");
    }
    toml::parse_result result = toml::parse(text, name);
    if (!result) {
        const auto& error = result.error();
        const std::size_t line = std::max<std::size_t>(error.source().begin.line, 1);
        return fail(Errc::parse, name + ":" + std::to_string(line) + ": " + std::string(error.description()));
    }
    auto document = std::make_shared<Document>(Document{std::move(result).table(), name});
    const void* root = &document->root;
    return TomlFields(std::move(document), root, "");
}

std::size_t TomlFields::line() const {
    const std::size_t line = as_table(table_).source().begin.line;
    return line == 0 ? 1 : line;
}

const std::string& TomlFields::file_name() const { return document_->file_name; }

std::size_t TomlFields::line_of(std::string_view key) const {
    const toml::node* node = as_table(table_).get(key);
    return node == nullptr ? line() : line_of_node(*node, line());
}

bool TomlFields::contains(std::string_view key) const { return as_table(table_).contains(key); }

Error TomlFields::error_at_line(std::size_t line, std::string_view message) const {
    std::string text = file_name() + ":" + std::to_string(line) + ": ";
    if (!context_.empty()) text += context_ + ": ";
    text += message;
    return Error(Errc::parse, std::move(text));
}

Error TomlFields::error_at(std::string_view key, std::string_view message) const {
    return error_at_line(line_of(key), message);
}

Error TomlFields::error(std::string_view message) const { return error_at_line(line(), message); }

Error TomlFields::value_error(std::size_t line, std::string_view key, const Error& cause) const {
    return error_at_line(line, std::string(key) + " " + cause.message());
}

// ---- scalar getters -------------------------------------------------------

namespace {

// The node behind a key, after marking it seen; nullptr when absent.
const toml::node* find(const void* table, std::set<std::string, std::less<>>& seen, std::string_view key) {
    seen.emplace(key);
    return as_table(table).get(key);
}

}  // namespace

Result<std::optional<TomlString>> TomlFields::optional_located_string(std::string_view key) {
    const toml::node* node = find(table_, seen_, key);
    if (node == nullptr) return std::optional<TomlString>{};
    const auto* value = node->as_string();
    if (value == nullptr) {
        return fail(error_at(key, std::string(key) + ": expected a string, got " + std::string(describe(*node))));
    }
    return std::optional<TomlString>(TomlString{value->get(), line_of_node(*node, line())});
}

Result<TomlString> TomlFields::located_string(std::string_view key) {
    auto found = optional_located_string(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return fail(error("missing required key \"" + std::string(key) + "\""));
    return std::move(**found);
}

Result<std::optional<std::string>> TomlFields::optional_string(std::string_view key) {
    auto found = optional_located_string(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return std::optional<std::string>{};
    return std::optional<std::string>(std::move((*found)->value));
}

Result<std::string> TomlFields::string(std::string_view key) {
    auto found = located_string(key);
    if (!found) return std::unexpected(std::move(found.error()));
    return std::move(found->value);
}

Result<std::optional<std::int64_t>> TomlFields::optional_integer(std::string_view key, std::int64_t min,
                                                                 std::int64_t max) {
    const toml::node* node = find(table_, seen_, key);
    if (node == nullptr) return std::optional<std::int64_t>{};
    const auto* value = node->as_integer();
    if (value == nullptr) {
        return fail(error_at(key, std::string(key) + ": expected an integer, got " + std::string(describe(*node))));
    }
    const std::int64_t number = value->get();
    if (number < min || number > max) {
        return fail(error_at(key, std::string(key) + " " + std::to_string(number) + " " + range_text(min, max)));
    }
    return std::optional<std::int64_t>(number);
}

Result<std::int64_t> TomlFields::integer(std::string_view key, std::int64_t min, std::int64_t max) {
    auto found = optional_integer(key, min, max);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return fail(error("missing required key \"" + std::string(key) + "\""));
    return **found;
}

Result<std::optional<bool>> TomlFields::optional_boolean(std::string_view key) {
    const toml::node* node = find(table_, seen_, key);
    if (node == nullptr) return std::optional<bool>{};
    const auto* value = node->as_boolean();
    if (value == nullptr) {
        return fail(error_at(key, std::string(key) + ": expected true or false, got " + std::string(describe(*node))));
    }
    return std::optional<bool>(value->get());
}

Result<bool> TomlFields::boolean(std::string_view key) {
    auto found = optional_boolean(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return fail(error("missing required key \"" + std::string(key) + "\""));
    return **found;
}

Result<Duration> TomlFields::duration(std::string_view key) { return parsed(key, parse_duration); }
Result<std::optional<Duration>> TomlFields::optional_duration(std::string_view key) {
    return optional_parsed(key, parse_duration);
}
Result<Percent> TomlFields::percent(std::string_view key) { return parsed(key, parse_percent); }
Result<std::optional<Percent>> TomlFields::optional_percent(std::string_view key) {
    return optional_parsed(key, parse_percent);
}
Result<std::uint64_t> TomlFields::size(std::string_view key) { return parsed(key, parse_size); }
Result<std::optional<std::uint64_t>> TomlFields::optional_size(std::string_view key) {
    return optional_parsed(key, parse_size);
}
Result<std::uint64_t> TomlFields::rate(std::string_view key) { return parsed(key, parse_rate); }
Result<std::optional<std::uint64_t>> TomlFields::optional_rate(std::string_view key) {
    return optional_parsed(key, parse_rate);
}

Result<std::optional<Timestamp>> TomlFields::optional_timestamp(std::string_view key) {
    const toml::node* node = find(table_, seen_, key);
    if (node == nullptr) return std::optional<Timestamp>{};
    if (node->is_string()) {
        auto value = optional_parsed(key, parse_timestamp);
        if (!value) return std::unexpected(std::move(value.error()));
        return *value;
    }
    const auto* value = node->as_date_time();
    if (value == nullptr) {
        return fail(error_at(key, std::string(key) + ": expected an RFC 3339 time like \"2026-11-24T01:00:00Z\", got " +
                                      std::string(describe(*node))));
    }
    const toml::date_time& when = value->get();
    if (!when.offset) {
        return fail(error_at(key, std::string(key) + " " + local_text(when) +
                                      " has no time zone offset (write e.g. " + local_text(when) + "Z)"));
    }
    using namespace std::chrono;
    const year_month_day date{year{when.date.year}, month{when.date.month}, day{when.date.day}};
    if (!date.ok()) return fail(error_at(key, std::string(key) + " " + local_text(when) + " is not a valid date"));
    const Timestamp result = sys_days(date) + hours(when.time.hour) + minutes(when.time.minute) +
                             seconds(when.time.second) - minutes(when.offset->minutes);
    return std::optional<Timestamp>(result);
}

Result<Timestamp> TomlFields::timestamp(std::string_view key) {
    auto found = optional_timestamp(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return fail(error("missing required key \"" + std::string(key) + "\""));
    return **found;
}

// ---- arrays and tables ----------------------------------------------------

Result<std::optional<std::vector<TomlString>>> TomlFields::optional_located_string_array(std::string_view key) {
    const toml::node* node = find(table_, seen_, key);
    if (node == nullptr) return std::optional<std::vector<TomlString>>{};
    const auto* array = node->as_array();
    if (array == nullptr) {
        return fail(error_at(key, std::string(key) + ": expected an array of strings, got " +
                                      std::string(describe(*node))));
    }
    const std::size_t array_line = line_of_node(*node, line());
    std::vector<TomlString> out;
    out.reserve(array->size());
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        const auto* text = element.as_string();
        if (text == nullptr) {
            return fail(error_at_line(line_of_node(element, array_line),
                                      std::string(key) + "[" + std::to_string(i) + "]: expected a string, got " +
                                          std::string(describe(element))));
        }
        out.push_back(TomlString{text->get(), line_of_node(element, array_line)});
    }
    return std::optional<std::vector<TomlString>>(std::move(out));
}

Result<std::vector<TomlString>> TomlFields::located_string_array(std::string_view key) {
    auto found = optional_located_string_array(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return fail(error("missing required key \"" + std::string(key) + "\""));
    return std::move(**found);
}

Result<std::optional<std::vector<std::string>>> TomlFields::optional_string_array(std::string_view key) {
    auto found = optional_located_string_array(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return std::optional<std::vector<std::string>>{};
    std::vector<std::string> out;
    out.reserve((*found)->size());
    for (auto& entry : **found) out.push_back(std::move(entry.value));
    return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::vector<std::string>> TomlFields::string_array(std::string_view key) {
    auto found = optional_string_array(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return fail(error("missing required key \"" + std::string(key) + "\""));
    return std::move(**found);
}

Result<std::optional<std::map<std::string, std::string>>> TomlFields::optional_string_map(std::string_view key) {
    const toml::node* node = find(table_, seen_, key);
    if (node == nullptr) return std::optional<std::map<std::string, std::string>>{};
    const auto* table = node->as_table();
    if (table == nullptr) {
        return fail(error_at(key, std::string(key) + ": expected a table of strings like { ring = \"test\" }, got " +
                                      std::string(describe(*node))));
    }
    std::map<std::string, std::string> out;
    for (const auto& [name, value] : *table) {
        const auto* text = value.as_string();
        if (text == nullptr) {
            return fail(error_at_line(line_of_node(value, line_of(key)),
                                      std::string(key) + "." + std::string(name.str()) +
                                          ": expected a string, got " + std::string(describe(value))));
        }
        out.emplace(std::string(name.str()), text->get());
    }
    return std::optional<std::map<std::string, std::string>>(std::move(out));
}

Result<std::map<std::string, std::string>> TomlFields::string_map(std::string_view key) {
    auto found = optional_string_map(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return fail(error("missing required key \"" + std::string(key) + "\""));
    return std::move(**found);
}

Result<std::optional<TomlFields>> TomlFields::optional_table(std::string_view key) {
    const toml::node* node = find(table_, seen_, key);
    if (node == nullptr) return std::optional<TomlFields>{};
    const auto* table = node->as_table();
    if (table == nullptr) {
        return fail(error_at(key, std::string(key) + ": expected a table, got " + std::string(describe(*node))));
    }
    std::string child = context_.empty() ? std::string(key) : context_ + "." + std::string(key);
    return std::optional<TomlFields>(TomlFields(document_, table, std::move(child)));
}

Result<TomlFields> TomlFields::table(std::string_view key) {
    auto found = optional_table(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return fail(error("missing required key \"" + std::string(key) + "\""));
    return std::move(**found);
}

Result<std::optional<std::vector<TomlFields>>> TomlFields::optional_table_array(std::string_view key) {
    const toml::node* node = find(table_, seen_, key);
    if (node == nullptr) return std::optional<std::vector<TomlFields>>{};
    const auto* array = node->as_array();
    const std::string want = "expected an array of tables ([[" + std::string(key) + "]]), got ";
    if (array == nullptr) return fail(error_at(key, std::string(key) + ": " + want + std::string(describe(*node))));
    const std::string prefix = context_.empty() ? std::string(key) : context_ + "." + std::string(key);
    std::vector<TomlFields> out;
    out.reserve(array->size());
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        const auto* table = element.as_table();
        if (table == nullptr) {
            return fail(error_at_line(line_of_node(element, line_of(key)),
                                      std::string(key) + "[" + std::to_string(i) + "]: " + want +
                                          std::string(describe(element))));
        }
        out.push_back(TomlFields(document_, table, prefix + " #" + std::to_string(i + 1)));
    }
    return std::optional<std::vector<TomlFields>>(std::move(out));
}

Result<std::vector<TomlFields>> TomlFields::table_array(std::string_view key) {
    auto found = optional_table_array(key);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return fail(error("missing required key \"" + std::string(key) + "\""));
    return std::move(**found);
}

Status TomlFields::finish() const {
    // toml::table is ordered by key; report the unknown key written first.
    const toml::key* first = nullptr;
    for (const auto& [name, value] : as_table(table_)) {
        if (seen_.contains(name.str())) continue;
        const auto position = [](const toml::key& k) {
            return std::make_tuple(k.source().begin.line, k.source().begin.column);
        };
        if (first == nullptr || position(name) < position(*first)) first = &name;
    }
    if (first == nullptr) return {};
    const std::size_t key_line = first->source().begin.line;
    return fail(error_at_line(key_line == 0 ? line() : key_line, "unknown key \"" + std::string(first->str()) + "\""));
}

}  // namespace patchwave::rollout
