// Strict reading of human-written TOML files (bundle.toml, rollout.toml, agent.toml):
// typed getters per table that remember what was asked, so unknown keys are errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/duration.hpp"
#include "common/error.hpp"
#include "common/percent.hpp"
#include "common/timestamp.hpp"

namespace patchwave::rollout {

/// A string value with the line it was written on, for callers that validate
/// list elements themselves and must point at the right line.
struct TomlString {
    std::string value;
    std::size_t line = 0;
    friend bool operator==(const TomlString&, const TomlString&) = default;
};

/// Reads the keys of one TOML table. TOML++ stays inside the .cpp (it is
/// compiled without exceptions only in this library), so this class holds the
/// parsed document through an opaque shared handle; copies share it.
///
/// Every error is Errc::parse and reads `FILE:LINE: CONTEXT: message`, where
/// LINE is the line of the offending value (of the table when a key is
/// missing) and CONTEXT names the table (`wave "canary"`, `install`; empty
/// for the top level, and then left out together with its ": ").
/// Value errors read `KEY "value" why`, e.g.
/// `rollout.toml:14: wave "canary": success_threshold "120%" is not 0-100%`.
///
/// Call finish() after reading a table: it refuses the first key no getter
/// asked for (`unknown key "sucess_threshold"`), so a typo cannot silently
/// drop a setting.
class TomlFields {
public:
    /// Largest document parse() accepts; these files are a few hundred bytes.
    static constexpr std::size_t kMaxDocumentSize = 1 << 20;

    /// Parses a whole document and returns a reader over its top-level table.
    /// Syntax errors (including duplicate keys) come back as `FILE:LINE: why`.
    static Result<TomlFields> parse(std::string_view text, std::string_view file_name);

    // Required getters fail with `missing required key "KEY"` (at the table's
    // line); optional ones return std::nullopt when the key is absent. A
    // present key of the wrong type is an error for both.
    Result<std::string> string(std::string_view key);
    Result<std::optional<std::string>> optional_string(std::string_view key);
    Result<TomlString> located_string(std::string_view key);
    Result<std::optional<TomlString>> optional_located_string(std::string_view key);
    /// TOML integers, refused outside [min, max]: `retries 11 is not 0-10`.
    Result<std::int64_t> integer(std::string_view key, std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                 std::int64_t max = std::numeric_limits<std::int64_t>::max());
    Result<std::optional<std::int64_t>> optional_integer(
        std::string_view key, std::int64_t min = std::numeric_limits<std::int64_t>::min(),
        std::int64_t max = std::numeric_limits<std::int64_t>::max());
    Result<bool> boolean(std::string_view key);
    Result<std::optional<bool>> optional_boolean(std::string_view key);

    /// Strings parsed by common/: "10m" (parse_duration), "95%" (parse_percent).
    Result<Duration> duration(std::string_view key);
    Result<std::optional<Duration>> optional_duration(std::string_view key);
    Result<Percent> percent(std::string_view key);
    Result<std::optional<Percent>> optional_percent(std::string_view key);
    /// "512KB" (parse_size) and "20MB/s" (parse_rate).
    Result<std::uint64_t> size(std::string_view key);
    Result<std::optional<std::uint64_t>> optional_size(std::string_view key);
    Result<std::uint64_t> rate(std::string_view key);
    Result<std::optional<std::uint64_t>> optional_rate(std::string_view key);
    /// An RFC 3339 string ("2026-11-24T01:00:00Z") or a native TOML offset
    /// date-time (2026-11-24T01:00:00Z). Local times without an offset are
    /// refused: a fleet spans time zones.
    Result<Timestamp> timestamp(std::string_view key);
    Result<std::optional<Timestamp>> optional_timestamp(std::string_view key);

    /// An array whose elements must all be strings; an absent key is an empty list
    /// only for the optional form. Errors on elements name `KEY[i]` and their line.
    Result<std::vector<std::string>> string_array(std::string_view key);
    Result<std::optional<std::vector<std::string>>> optional_string_array(std::string_view key);
    Result<std::vector<TomlString>> located_string_array(std::string_view key);
    Result<std::optional<std::vector<TomlString>>> optional_located_string_array(std::string_view key);
    /// A table (inline `{ ring = "test" }` or `[section]`) whose values must all
    /// be strings. Checking the keys themselves is up to the caller.
    Result<std::map<std::string, std::string>> string_map(std::string_view key);
    Result<std::optional<std::map<std::string, std::string>>> optional_string_map(std::string_view key);

    /// A sub-table (inline or `[section]`) as a reader whose context is
    /// `CONTEXT.KEY` (or `KEY` at the top level).
    Result<TomlFields> table(std::string_view key);
    Result<std::optional<TomlFields>> optional_table(std::string_view key);
    /// An array of tables (`[[wave]]`), one reader each; reader i has context
    /// `KEY #i+1` until the caller names it better with set_context().
    Result<std::vector<TomlFields>> table_array(std::string_view key);
    Result<std::optional<std::vector<TomlFields>>> optional_table_array(std::string_view key);

    /// A string read and converted by `parse`, a function from std::string_view
    /// to Result<T> whose error message starts with the quoted value (as the
    /// common/ parsers do): its failure becomes `KEY <message>` at the value's line.
    template <class Parse>
    auto parsed(std::string_view key, Parse&& parse)
        -> std::invoke_result_t<Parse, std::string_view> {
        auto text = located_string(key);
        if (!text) return std::unexpected(std::move(text.error()));
        auto value = parse(std::string_view(text->value));
        if (!value) return std::unexpected(value_error(text->line, key, value.error()));
        return value;
    }
    template <class Parse>
    auto optional_parsed(std::string_view key, Parse&& parse)
        -> Result<std::optional<typename std::invoke_result_t<Parse, std::string_view>::value_type>> {
        using T = typename std::invoke_result_t<Parse, std::string_view>::value_type;
        auto text = optional_located_string(key);
        if (!text) return std::unexpected(std::move(text.error()));
        if (!*text) return std::optional<T>{};
        auto value = parse(std::string_view((*text)->value));
        if (!value) return std::unexpected(value_error((*text)->line, key, value.error()));
        return std::optional<T>(std::move(*value));
    }

    /// True when the table has `key` (does not count as asking for it).
    bool contains(std::string_view key) const;
    /// Marks a key as read without reading it (e.g. handled elsewhere).
    void mark_seen(std::string_view key) { seen_.emplace(key); }

    /// Errc::parse naming the first key (in file order) that no getter asked for.
    Status finish() const;

    /// `FILE:LINE: CONTEXT: message` at the line of `key`'s value (the table's
    /// line when the key is absent), for checks the caller makes itself.
    Error error_at(std::string_view key, std::string_view message) const;
    /// The same at an explicit line (e.g. a TomlString's).
    Error error_at_line(std::size_t line, std::string_view message) const;
    /// The same at the table's own line.
    Error error(std::string_view message) const;
    /// `KEY <cause's message>` at `line`, for values a parser refused.
    Error value_error(std::size_t line, std::string_view key, const Error& cause) const;

    /// Line of the value of `key`, or of the table when it is absent (1-based).
    std::size_t line_of(std::string_view key) const;
    std::size_t line() const;
    const std::string& file_name() const;
    const std::string& context() const { return context_; }
    void set_context(std::string context) { context_ = std::move(context); }

private:
    struct Document;  // holds the TOML++ table; defined in toml_fields.cpp

    TomlFields(std::shared_ptr<const Document> document, const void* table, std::string context)
        : document_(std::move(document)), table_(table), context_(std::move(context)) {}

    std::shared_ptr<const Document> document_;
    const void* table_;  // a const toml::table* inside document_
    std::string context_;
    std::set<std::string, std::less<>> seen_;
};

}  // namespace patchwave::rollout
