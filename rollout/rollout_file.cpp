// rollout.toml: RolloutFile::parse_toml. The signed form is in manifest.cpp.
#include <algorithm>
#include <cctype>
#include <map>

#include "rollout/manifest.hpp"
#include "rollout/toml_fields.hpp"

namespace patchwave::rollout {
namespace {

constexpr std::size_t kMinBundlePrefix = 8;
constexpr std::int64_t kMaxRebootDeferrals = 100;
constexpr std::int64_t kMaxRetries = 10;
constexpr std::size_t kMaxSelectorLabels = 32;

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    return text;
}

Result<std::vector<std::string>> read_bundles(TomlFields& fields) {
    auto entries = fields.located_string_array("bundles");
    if (!entries) return std::unexpected(std::move(entries.error()));
    if (entries->empty()) return fail(fields.error_at("bundles", "bundles is empty: name at least one bundle id"));
    if (entries->size() > Manifest::kMaxBundles) {
        return fail(fields.error_at("bundles", "bundles has " + std::to_string(entries->size()) +
                                                   " entries, more than " + std::to_string(Manifest::kMaxBundles)));
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < entries->size(); ++i) {
        const TomlString& entry = (*entries)[i];
        const std::string label = "bundles[" + std::to_string(i) + "] \"" + entry.value + "\"";
        if (entry.value.size() < kMinBundlePrefix || entry.value.size() > 64 ||
            !std::all_of(entry.value.begin(), entry.value.end(), is_hex)) {
            return fail(fields.error_at_line(entry.line, label + " is not a bundle id or id prefix (8-64 hex characters)"));
        }
        std::string id = lower(entry.value);
        // A prefix of another entry could name the same bundle twice.
        for (std::size_t j = 0; j < out.size(); ++j) {
            if (out[j].starts_with(id) || id.starts_with(out[j])) {
                return fail(fields.error_at_line(entry.line, label + " repeats bundles[" + std::to_string(j) + "]"));
            }
        }
        out.push_back(std::move(id));
    }
    return out;
}

Result<LabelSelector> read_selector(TomlFields& wave) {
    auto select = wave.optional_string_map("select");
    if (!select) return std::unexpected(std::move(select.error()));
    if (!*select) return LabelSelector{};
    if ((*select)->size() > kMaxSelectorLabels) {
        return fail(wave.error_at("select", "select has " + std::to_string((*select)->size()) +
                                                " labels, more than " + std::to_string(kMaxSelectorLabels)));
    }
    for (const auto& [key, value] : **select) {
        if (!is_valid_label(key)) {
            return fail(wave.error_at("select", "select key \"" + key + "\" is not 1-63 characters of [A-Za-z0-9._-]"));
        }
        if (!is_valid_label(value)) {
            return fail(wave.error_at("select", "select." + key + " \"" + value +
                                                    "\" is not 1-63 characters of [A-Za-z0-9._-]"));
        }
    }
    return std::move(**select);
}

Result<WaveSpec> read_wave(TomlFields& wave, std::map<std::string, std::size_t>& names_seen) {
    WaveSpec spec;
    auto name = wave.located_string("name");
    if (!name) return std::unexpected(std::move(name.error()));
    if (!is_valid_rollout_id(name->value)) {
        return fail(wave.error_at_line(name->line, "name \"" + name->value +
                                                       "\" is not 1-64 characters of [A-Za-z0-9._-] starting with "
                                                       "a letter or digit"));
    }
    if (auto [it, fresh] = names_seen.emplace(name->value, wave.line()); !fresh) {
        return fail(wave.error_at_line(name->line, "name \"" + name->value + "\" is already used by the wave at line " +
                                                       std::to_string(it->second)));
    }
    spec.name = std::move(name->value);
    // From here on every message names the wave as the operator wrote it.
    wave.set_context("wave \"" + spec.name + "\"");

    auto select = read_selector(wave);
    if (!select) return std::unexpected(std::move(select.error()));
    spec.select = std::move(*select);
    auto percent = wave.optional_integer("percent", 1, 100);
    if (!percent) return std::unexpected(std::move(percent.error()));
    if (*percent) spec.percent = static_cast<std::uint32_t>(**percent);
    auto success = wave.optional_percent("success_threshold");
    if (!success) return std::unexpected(std::move(success.error()));
    if (*success) spec.success_threshold = **success;
    auto failure = wave.optional_percent("failure_threshold");
    if (!failure) return std::unexpected(std::move(failure.error()));
    if (*failure) spec.failure_threshold = **failure;
    auto soak = wave.optional_duration("soak");
    if (!soak) return std::unexpected(std::move(soak.error()));
    spec.soak = soak->value_or(Duration::zero());
    auto retries = wave.optional_integer("retries", 0, kMaxRetries);
    if (!retries) return std::unexpected(std::move(retries.error()));
    spec.retries = static_cast<std::uint32_t>(retries->value_or(0));
    if (auto done = wave.finish(); !done) return std::unexpected(std::move(done.error()));
    return spec;
}

}  // namespace

Result<RolloutFile> RolloutFile::parse_toml(std::string_view text, std::string_view file_name) {
    auto parsed = TomlFields::parse(text, file_name);
    if (!parsed) return std::unexpected(std::move(parsed.error()));
    TomlFields& fields = *parsed;
    RolloutFile file;

    auto name = fields.located_string("name");
    if (!name) return std::unexpected(std::move(name.error()));
    if (!is_valid_rollout_id(name->value)) {
        return fail(fields.error_at_line(name->line, "name \"" + name->value +
                                                         "\" is not a valid rollout id (1-64 characters of "
                                                         "[A-Za-z0-9._-], starting with a letter or digit)"));
    }
    file.name = std::move(name->value);

    auto bundles = read_bundles(fields);
    if (!bundles) return std::unexpected(std::move(bundles.error()));
    file.bundles = std::move(*bundles);

    auto emergency = fields.optional_boolean("emergency");
    if (!emergency) return std::unexpected(std::move(emergency.error()));
    file.emergency = emergency->value_or(false);

    auto not_before = fields.optional_timestamp("not_before");
    if (!not_before) return std::unexpected(std::move(not_before.error()));
    file.not_before = *not_before;
    auto expires = fields.timestamp("expires");
    if (!expires) return std::unexpected(std::move(expires.error()));
    file.expires = *expires;
    if (file.not_before && file.expires <= *file.not_before) {
        return fail(fields.error_at("expires", "expires " + format_timestamp(file.expires) +
                                                   " is not after not_before " + format_timestamp(*file.not_before)));
    }

    auto deadline = fields.optional_duration("reboot_deadline");
    if (!deadline) return std::unexpected(std::move(deadline.error()));
    if (*deadline) file.reboot_deadline = **deadline;
    auto deferrals = fields.optional_integer("max_reboot_deferrals", 0, kMaxRebootDeferrals);
    if (!deferrals) return std::unexpected(std::move(deferrals.error()));
    if (*deferrals) file.max_reboot_deferrals = static_cast<std::uint32_t>(**deferrals);

    auto waves = fields.table_array("wave");
    if (!waves) return std::unexpected(std::move(waves.error()));
    if (waves->empty()) return fail(fields.error_at("wave", "wave is empty: define at least one [[wave]]"));
    if (waves->size() > Manifest::kMaxWaves) {
        return fail(fields.error_at("wave", "wave has " + std::to_string(waves->size()) + " entries, more than " +
                                                std::to_string(Manifest::kMaxWaves)));
    }
    std::map<std::string, std::size_t> names_seen;
    for (auto& wave : *waves) {
        auto spec = read_wave(wave, names_seen);
        if (!spec) return std::unexpected(std::move(spec.error()));
        file.waves.push_back(std::move(*spec));
    }
    if (auto done = fields.finish(); !done) return std::unexpected(std::move(done.error()));
    return file;
}

}  // namespace patchwave::rollout
