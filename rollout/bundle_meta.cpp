#include "rollout/bundle_meta.hpp"

#include <algorithm>
#include <set>

#include "rollout/toml_fields.hpp"

namespace patchwave::rollout {
namespace {

using namespace std::chrono_literals;

// Default timeouts when a command table leaves `timeout` out: installing and
// undoing may unpack and restart services; checks should be quick.
constexpr Duration kDefaultInstallTimeout = 30min;
constexpr Duration kDefaultCheckTimeout = 5min;
constexpr Duration kMaxCommandTimeout = 24h;

std::unexpected<Error> not_one_of(std::string_view text, std::string_view choices) {
    return fail(Errc::invalid_argument, "\"" + std::string(text) + "\" is not " + std::string(choices));
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Names and versions end up in file names, logs and tables: keep them plain.
bool valid_token(std::string_view text, std::size_t max, std::string_view extra) {
    return !text.empty() && text.size() <= max && is_alnum(text.front()) &&
           std::all_of(text.begin(), text.end(),
                       [&](char c) { return is_alnum(c) || extra.find(c) != std::string_view::npos; });
}

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Absolute and already in canonical form, so that drift checks compare
// paths by plain string equality: no "//", ".", "..", or trailing "/".
std::optional<std::string> path_problem(std::string_view path) {
    if (path.empty() || path.front() != '/') return "is not an absolute path";
    if (path.size() > BundleMeta::kMaxPathLength) return "is longer than 4096 characters";
    if (has_control_character(path)) return "contains a control character";
    if (path == "/") return std::nullopt;
    if (path.back() == '/') return "is not normalized (no trailing \"/\")";
    std::size_t start = 1;
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find('/', start), path.size());
        const std::string_view part = path.substr(start, end - start);
        if (part.empty()) return "is not normalized (no \"//\")";
        if (part == "." || part == "..") return "is not normalized (no \".\" or \"..\" parts)";
        start = end + 1;
    }
    return std::nullopt;
}

Result<std::optional<BundleCommand>> read_command(TomlFields& fields, std::string_view key, Duration fallback) {
    auto table = fields.optional_table(key);
    if (!table) return std::unexpected(std::move(table.error()));
    if (!*table) return std::optional<BundleCommand>{};
    TomlFields& entry = **table;
    BundleCommand command;
    auto text = entry.string("command");
    if (!text) return std::unexpected(std::move(text.error()));
    if (text->empty()) return fail(entry.error_at("command", "command is empty"));
    if (text->size() > BundleMeta::kMaxCommandLength) {
        return fail(entry.error_at("command", "command is longer than 4096 characters"));
    }
    if (text->find('\0') != std::string::npos) return fail(entry.error_at("command", "command contains a NUL byte"));
    command.command = std::move(*text);
    auto timeout_text = entry.optional_located_string("timeout");
    if (!timeout_text) return std::unexpected(std::move(timeout_text.error()));
    command.timeout = fallback;
    if (*timeout_text) {
        auto timeout = parse_duration((*timeout_text)->value);
        if (!timeout) return fail(entry.value_error((*timeout_text)->line, "timeout", timeout.error()));
        if (*timeout <= Duration::zero() || *timeout > kMaxCommandTimeout) {
            return fail(entry.error_at("timeout", "timeout \"" + (*timeout_text)->value + "\" is not 1s-24h"));
        }
        command.timeout = *timeout;
    }
    if (auto done = entry.finish(); !done) return std::unexpected(std::move(done.error()));
    return std::optional<BundleCommand>(std::move(command));
}

}  // namespace

std::string_view to_string(Priority value) {
    switch (value) {
        case Priority::critical: return "critical";
        case Priority::high: return "high";
        case Priority::normal: return "normal";
        case Priority::low: return "low";
    }
    return "unknown";
}

std::string_view to_string(Category value) {
    switch (value) {
        case Category::security: return "security";
        case Category::bugfix: return "bugfix";
        case Category::feature: return "feature";
        case Category::config: return "config";
    }
    return "unknown";
}

std::string_view to_string(TriageStatus value) {
    switch (value) {
        case TriageStatus::proceed: return "proceed";
        case TriageStatus::hold: return "hold";
        case TriageStatus::cancelled: return "cancelled";
    }
    return "unknown";
}

std::string_view to_string(RebootNeed value) {
    switch (value) {
        case RebootNeed::none: return "none";
        case RebootNeed::required: return "required";
    }
    return "unknown";
}

Result<Priority> priority_from_string(std::string_view text) {
    for (Priority value : {Priority::critical, Priority::high, Priority::normal, Priority::low}) {
        if (to_string(value) == text) return value;
    }
    return not_one_of(text, "critical, high, normal or low");
}

Result<Category> category_from_string(std::string_view text) {
    for (Category value : {Category::security, Category::bugfix, Category::feature, Category::config}) {
        if (to_string(value) == text) return value;
    }
    return not_one_of(text, "security, bugfix, feature or config");
}

Result<TriageStatus> triage_status_from_string(std::string_view text) {
    for (TriageStatus value : {TriageStatus::proceed, TriageStatus::hold, TriageStatus::cancelled}) {
        if (to_string(value) == text) return value;
    }
    return not_one_of(text, "proceed, hold or cancelled");
}

Result<RebootNeed> reboot_need_from_string(std::string_view text) {
    for (RebootNeed value : {RebootNeed::none, RebootNeed::required}) {
        if (to_string(value) == text) return value;
    }
    return not_one_of(text, "none or required");
}

Result<BundleMeta> BundleMeta::parse_toml(std::string_view text, std::string_view file_name) {
    auto parsed = TomlFields::parse(text, file_name);
    if (!parsed) return std::unexpected(std::move(parsed.error()));
    TomlFields& fields = *parsed;
    BundleMeta meta;

    auto name = fields.located_string("name");
    if (!name) return std::unexpected(std::move(name.error()));
    if (!valid_token(name->value, kMaxNameLength, "._+-")) {
        return fail(fields.error_at_line(name->line, "name \"" + name->value +
                                                         "\" is not 1-128 characters of [A-Za-z0-9._+-] "
                                                         "starting with a letter or digit"));
    }
    meta.name = std::move(name->value);

    auto version = fields.located_string("version");
    if (!version) return std::unexpected(std::move(version.error()));
    // Package versions use "~" (Debian pre-releases) and ":" (epochs) too.
    if (!valid_token(version->value, kMaxVersionLength, "._+~:-")) {
        return fail(fields.error_at_line(version->line, "version \"" + version->value +
                                                            "\" is not 1-64 characters of [A-Za-z0-9._+~:-] "
                                                            "starting with a letter or digit"));
    }
    meta.version = std::move(version->value);

    auto priority = fields.optional_parsed("priority", priority_from_string);
    if (!priority) return std::unexpected(std::move(priority.error()));
    meta.priority = priority->value_or(Priority::normal);
    auto category = fields.optional_parsed("category", category_from_string);
    if (!category) return std::unexpected(std::move(category.error()));
    meta.category = category->value_or(Category::bugfix);
    auto reboot = fields.optional_parsed("reboot", reboot_need_from_string);
    if (!reboot) return std::unexpected(std::move(reboot.error()));
    meta.reboot = reboot->value_or(RebootNeed::none);

    auto description = fields.optional_string("description");
    if (!description) return std::unexpected(std::move(description.error()));
    meta.description = description->value_or("");
    if (meta.description.size() > kMaxDescriptionLength) {
        return fail(fields.error_at("description", "description is longer than 4096 characters"));
    }

    auto paths = fields.optional_located_string_array("paths");
    if (!paths) return std::unexpected(std::move(paths.error()));
    if (*paths) {
        if ((*paths)->size() > kMaxPaths) {
            return fail(fields.error_at("paths", "paths has " + std::to_string((*paths)->size()) +
                                                     " entries, more than 256"));
        }
        std::set<std::string_view> seen;
        for (std::size_t i = 0; i < (*paths)->size(); ++i) {
            const TomlString& path = (**paths)[i];
            const std::string label = "paths[" + std::to_string(i) + "] \"" + path.value + "\" ";
            if (auto problem = path_problem(path.value)) return fail(fields.error_at_line(path.line, label + *problem));
            if (!seen.insert(path.value).second) return fail(fields.error_at_line(path.line, label + "is listed twice"));
        }
        for (auto& path : **paths) meta.paths.push_back(std::move(path.value));
    }

    auto install = read_command(fields, "install", kDefaultInstallTimeout);
    if (!install) return std::unexpected(std::move(install.error()));
    if (!*install) return fail(fields.error("missing required key \"install\""));
    meta.install = std::move(**install);
    auto verify = read_command(fields, "verify", kDefaultCheckTimeout);
    if (!verify) return std::unexpected(std::move(verify.error()));
    meta.verify = std::move(*verify);
    auto rollback = read_command(fields, "rollback", kDefaultInstallTimeout);
    if (!rollback) return std::unexpected(std::move(rollback.error()));
    meta.rollback = std::move(*rollback);
    auto precheck = read_command(fields, "precheck", kDefaultCheckTimeout);
    if (!precheck) return std::unexpected(std::move(precheck.error()));
    meta.precheck = std::move(*precheck);

    if (auto done = fields.finish(); !done) return std::unexpected(std::move(done.error()));
    return meta;
}

crypto::Digest metadata_digest(std::string_view bundle_toml_bytes) { return crypto::sha256(bundle_toml_bytes); }

}  // namespace patchwave::rollout
