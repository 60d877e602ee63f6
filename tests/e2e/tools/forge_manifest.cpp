// Test-only: the bad manifests of e2e test 6, built from a real home. The CLI
// refuses to sign any of them; this tool signs what it is told to.
//
//   forge_manifest --home DIR --rollout FILE --out FILE
//                  [--sign-with KEYFILE] [--version N] [--expires RFC3339] [--approvals N]
//       plans FILE as `rollout publish` would (bundles from the catalog), then
//       keeps at most N approvals per bundle, sets the version and expiry, and
//       signs with KEYFILE (default: the home's release key), checking nothing.
//   forge_manifest --home DIR --stored ROLLOUT --version N --out FILE
//       writes the envelope of version N as published (for a replay).
//
// Prints the rollout id and version it wrote. Exit 0, 1 on failure, 2 on usage.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "common/file_io.hpp"
#include "common/timestamp.hpp"
#include "crypto/key_file.hpp"
#include "orchestrator/home.hpp"
#include "orchestrator/key_store.hpp"
#include "orchestrator/rollout_publisher.hpp"
#include "orchestrator/trust_store.hpp"

using namespace patchwave;

namespace {

struct Options {
    std::string home;
    std::string rollout_file;
    std::string stored;
    std::string out;
    std::string sign_with;
    std::optional<std::uint64_t> version;
    std::optional<Timestamp> expires;
    std::optional<std::size_t> approvals;
};

Result<Options> parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) return fail(Errc::invalid_argument, flag + " needs a value");
        const std::string value = argv[++i];
        try {
            if (flag == "--home") {
                options.home = value;
            } else if (flag == "--rollout") {
                options.rollout_file = value;
            } else if (flag == "--stored") {
                options.stored = value;
            } else if (flag == "--out") {
                options.out = value;
            } else if (flag == "--sign-with") {
                options.sign_with = value;
            } else if (flag == "--version") {
                options.version = std::stoull(value);
            } else if (flag == "--approvals") {
                options.approvals = std::stoul(value);
            } else if (flag == "--expires") {
                auto time = parse_timestamp(value);
                if (!time) return std::unexpected(time.error().with_context("--expires"));
                options.expires = *time;
            } else {
                return fail(Errc::invalid_argument, "unknown flag " + flag);
            }
        } catch (const std::exception&) {
            return fail(Errc::invalid_argument, flag + ": \"" + value + "\" is not a number");
        }
    }
    if (options.home.empty() || options.out.empty()) return fail(Errc::invalid_argument, "--home and --out are required");
    if (options.rollout_file.empty() == options.stored.empty())
        return fail(Errc::invalid_argument, "give exactly one of --rollout FILE and --stored ROLLOUT");
    if (!options.stored.empty() && !options.version)
        return fail(Errc::invalid_argument, "--stored needs --version");
    return options;
}

Status write_envelope(const std::string& out, const crypto::Envelope& envelope) {
    auto bytes = envelope.encode();
    if (!bytes) return std::unexpected(bytes.error());
    return write_file_atomic(out, std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), 0644);
}

Status stored(orchestrator::Home& home, const Options& options) {
    auto query = home.db().prepare("SELECT envelope FROM manifests WHERE rollout_id = ? AND version = ?");
    if (!query) return std::unexpected(query.error());
    query->bind(1, options.stored).bind(2, static_cast<std::int64_t>(*options.version));
    auto row = query->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) {
        return fail(Errc::not_found, "no manifest \"" + options.stored + "\" v" + std::to_string(*options.version) +
                                         " in " + options.home);
    }
    const std::string blob = query->column_blob(0);
    if (auto written = write_file_atomic(options.out, blob, 0644); !written) return written;
    std::printf("%s %llu\n", options.stored.c_str(), static_cast<unsigned long long>(*options.version));
    return {};
}

Status forge(orchestrator::Home& home, const Options& options) {
    auto text = read_file(options.rollout_file, 1024 * 1024);
    if (!text) return std::unexpected(text.error());
    const Timestamp now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    auto plan = orchestrator::plan_rollout(home, *text, options.rollout_file, now);
    if (!plan) return std::unexpected(plan.error());
    rollout::Manifest manifest = plan->manifest;
    if (options.version) manifest.version = *options.version;
    if (options.expires) {
        manifest.expires = *options.expires;
        // A well-formed manifest that has run out, not a malformed one.
        if (manifest.published >= manifest.expires) manifest.published = manifest.expires - std::chrono::days(7);
    }
    if (options.approvals) {
        for (auto& bundle : manifest.bundles) {
            if (bundle.approvals.size() > *options.approvals) bundle.approvals.resize(*options.approvals);
        }
    }
    crypto::Envelope envelope;
    if (options.sign_with.empty()) {
        auto root = orchestrator::latest_root(home.db());
        if (!root) return std::unexpected(root.error());
        auto keys = orchestrator::signing_keys(home.keys_dir(), root->root, crypto::Role::release);
        if (!keys) return std::unexpected(keys.error());
        envelope = manifest.sign(keys->front());
    } else {
        auto key = crypto::load_private_key(options.sign_with);
        if (!key) return std::unexpected(key.error());
        envelope = manifest.sign(*key);
    }
    if (auto written = write_envelope(options.out, envelope); !written) return written;
    std::printf("%s %llu\n", manifest.rollout_id.c_str(), static_cast<unsigned long long>(manifest.version));
    return {};
}

}  // namespace

int main(int argc, char** argv) try {
    auto options = parse_options(argc, argv);
    if (!options) {
        std::fprintf(stderr, "forge_manifest: %s\n", options.error().message().c_str());
        return 2;
    }
    auto home = orchestrator::Home::open(options->home, orchestrator::LockMode::shared);
    if (!home) {
        std::fprintf(stderr, "forge_manifest: %s\n", home.error().message().c_str());
        return 1;
    }
    const Status done = options->stored.empty() ? forge(*home, *options) : stored(*home, *options);
    if (!done) {
        std::fprintf(stderr, "forge_manifest: %s\n", done.error().message().c_str());
        return 1;
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "forge_manifest: %s\n", e.what());
    return 1;
}
