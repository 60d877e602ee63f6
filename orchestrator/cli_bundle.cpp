// `patchwave bundle ...`: create, list, show, triage and approve bundles in
// the catalog (see catalog.hpp); output as text or --json.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <unistd.h>

#include "common/byte_size.hpp"
#include "common/duration.hpp"
#include "crypto/key_file.hpp"
#include "orchestrator/catalog.hpp"
#include "orchestrator/cli.hpp"
#include "orchestrator/serve_notify.hpp"
#include "orchestrator/table.hpp"
#include "orchestrator/trust_store.hpp"
#include "rollout/approval.hpp"

namespace patchwave::orchestrator {
namespace {

// ordered_json: fields print in the order a reader expects, id first.
using json = nlohmann::ordered_json;

// What a bundle's approvals are worth under the current trust root.
struct ApprovalTally {
    std::size_t have = 0;
    std::size_t normal = 0;
    std::size_t emergency = 0;
    std::uint64_t root_version = 0;
};

ApprovalTally tally(const BundleRecord& bundle, const crypto::TrustRoot& root) {
    std::vector<crypto::Envelope> envelopes;
    for (const auto& approval : bundle.approvals) envelopes.push_back(approval.envelope);
    return {rollout::count_approvals(envelopes, root, bundle.id, bundle.metadata_digest).size(),
            rollout::approvals_required(root, false), rollout::approvals_required(root, true), root.version};
}

bool counts(const ApprovalRecord& approval, const BundleRecord& bundle, const crypto::TrustRoot& root) {
    return rollout::verify_approval(approval.envelope, root, bundle.id, bundle.metadata_digest).has_value();
}

// Mirrors rollout::bundle_cleared_for_wave, which rollout publish applies.
std::string requirement_text(const ApprovalTally& counted) {
    return "normal rollouts need " + std::to_string(counted.normal) + ", emergency rollouts need " +
           std::to_string(counted.emergency) + "; the test ring (first wave of a multi-wave rollout) needs none";
}

// Absolute, so scripts can use the paths from any directory.
std::string absolute_text(const std::filesystem::path& path) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    return ec ? path.string() : absolute.string();
}

json command_json(const std::optional<rollout::BundleCommand>& command) {
    if (!command) return nullptr;
    return {{"command", command->command}, {"timeout", format_duration(command->timeout)}};
}

json bundle_json(const Home& home, const BundleRecord& bundle, const crypto::TrustRoot& root) {
    const ApprovalTally counted = tally(bundle, root);
    json approvals = json::array();
    for (const auto& approval : bundle.approvals) {
        approvals.push_back({{"approver", approval.approver.to_text()},
                             {"change_ref", approval.change_ref},
                             {"note", approval.note},
                             {"approved_at", format_timestamp(approval.approved_at)},
                             {"counts", counts(approval, bundle, root)}});
    }
    return {
        {"id", rollout::to_hex(bundle.id)},
        {"name", bundle.meta.name},
        {"version", bundle.meta.version},
        {"priority", rollout::to_string(bundle.meta.priority)},
        {"category", rollout::to_string(bundle.meta.category)},
        {"triage", rollout::to_string(bundle.triage)},
        {"reboot", rollout::to_string(bundle.meta.reboot)},
        {"description", bundle.meta.description},
        {"paths", bundle.meta.paths},
        {"commands",
         {{"install", command_json(bundle.meta.install)},
          {"verify", command_json(bundle.meta.verify)},
          {"rollback", command_json(bundle.meta.rollback)},
          {"precheck", command_json(bundle.meta.precheck)}}},
        {"total_bytes", bundle.total_bytes},
        {"file_count", bundle.file_count},
        {"created", format_timestamp(bundle.created)},
        {"metadata_digest", rollout::to_hex(bundle.metadata_digest)},
        {"content_dir", absolute_text(bundle_content_dir(home, bundle.id))},
        {"torrent", absolute_text(bundle_torrent_file(home, bundle.id))},
        {"approvals", approvals},
        {"approval_count", counted.have},
        {"approvals_required",
         {{"normal", counted.normal}, {"emergency", counted.emergency}, {"test_ring", 0}}},
        {"trust_root_version", counted.root_version},
    };
}

void print_json(std::ostream& out, const json& value) {
    // Replace, not throw: a name is UTF-8 by the TOML parser's rules anyway.
    out << value.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

std::string describe(const BundleRecord& bundle) {
    return "bundle " + rollout::short_hex(bundle.id) + " (" + bundle.meta.name + " " + bundle.meta.version + ")";
}

// A one-line bar on stderr for creates that take a while. Only on a
// terminal, and only after a second, so quick creates and scripts see nothing.
class ProgressBar {
public:
    explicit ProgressBar(std::ostream* out) : out_(out), start_(Clock::now()) {}
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;
    ~ProgressBar() { finish(); }

    // `total` counts every payload byte twice (copied, then hashed).
    void update(std::uint64_t done, std::uint64_t total) {
        if (out_ == nullptr || total == 0) return;
        const auto now = Clock::now();
        if (now - start_ < std::chrono::seconds(1)) return;
        if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total) return;
        last_ = now;
        drawn_ = true;
        constexpr int kWidth = 30;
        const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
        const int filled = static_cast<int>(fraction * kWidth);
        const char* step = done * 2 < total ? "copying" : "hashing";
        *out_ << "\r" << step << " bundle [" << std::string(static_cast<std::size_t>(filled), '#')
              << std::string(static_cast<std::size_t>(kWidth - filled), '-') << "] "
              << static_cast<int>(fraction * 100) << "% of " << format_size(total / 2) << "\x1b[K" << std::flush;
    }
    void finish() {
        if (drawn_ && out_ != nullptr) *out_ << "\r\x1b[K" << std::flush;
        drawn_ = false;
    }

private:
    using Clock = std::chrono::steady_clock;
    std::ostream* out_;
    Clock::time_point start_;
    Clock::time_point last_{};
    bool drawn_ = false;
};

// Ctrl-C or SIGTERM during a create stops it cleanly: the temp copy is removed
// now rather than at the next exclusive open. (SIGKILL is covered by that sweep.)
std::atomic<bool> g_create_cancelled{false};
extern "C" void on_cancel_signal(int) { g_create_cancelled.store(true); }

class CancelOnSignal {
public:
    CancelOnSignal() {
        struct sigaction action {};
        action.sa_handler = on_cancel_signal;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGINT, &action, &old_int_);
        ::sigaction(SIGTERM, &action, &old_term_);
    }
    CancelOnSignal(const CancelOnSignal&) = delete;
    CancelOnSignal& operator=(const CancelOnSignal&) = delete;
    ~CancelOnSignal() {
        ::sigaction(SIGINT, &old_int_, nullptr);
        ::sigaction(SIGTERM, &old_term_, nullptr);
    }

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

struct CreateOptions {
    std::string directory;
    bool json = false;
};

Status run_create(CliContext& context, const CreateOptions& options) {
    auto now = context.now();
    if (!now) return std::unexpected(now.error());
    auto home = context.open_home(LockMode::exclusive);
    if (!home) return std::unexpected(home.error());
    const bool show_progress = !options.json && context.err != nullptr && ::isatty(STDERR_FILENO) == 1;
    ProgressBar bar(show_progress ? context.err : nullptr);
    CancelOnSignal on_signal;
    auto created = create_bundle(
        *home, options.directory, *now, [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); },
        &g_create_cancelled);
    bar.finish();
    if (!created) return std::unexpected(created.error());
    const BundleRecord& bundle = created->bundle;
    if (options.json) {
        auto root = latest_root(home->db());
        if (!root) return std::unexpected(root.error());
        json object = bundle_json(*home, bundle, root->root);
        object["already_present"] = created->already_present;
        print_json(*context.out, object);
    } else {
        *context.out << rollout::to_hex(bundle.id) << '\n';
    }
    if (created->already_present) {
        *context.err << describe(bundle) << " is already in the catalog (same content, same id); nothing changed\n";
    } else {
        *context.err << "added " << describe(bundle) << ": " << format_size(bundle.total_bytes) << " in "
                     << bundle.file_count << (bundle.file_count == 1 ? " file" : " files") << '\n';
    }
    return {};
}

struct ListOptions {
    bool json = false;
};

Status run_list(CliContext& context, const ListOptions& options) {
    auto home = context.open_home(LockMode::shared);
    if (!home) return std::unexpected(home.error());
    auto bundles = list_bundles(home->db());
    if (!bundles) return std::unexpected(bundles.error());
    auto root = latest_root(home->db());
    if (!root) return std::unexpected(root.error());
    if (options.json) {
        json array = json::array();
        for (const auto& bundle : *bundles) array.push_back(bundle_json(*home, bundle, root->root));
        print_json(*context.out, array);
        return {};
    }
    if (bundles->empty()) {
        *context.err << "the catalog holds no bundles (add one with `patchwave bundle create DIR`)\n";
        return {};
    }
    Table table({"ID", "NAME", "VERSION", "PRIORITY", "CATEGORY", "TRIAGE", "APPROVALS", "SIZE", "CREATED"});
    for (const auto& bundle : *bundles) {
        const ApprovalTally counted = tally(bundle, root->root);
        table.add({rollout::short_hex(bundle.id), bundle.meta.name, bundle.meta.version,
                   std::string(rollout::to_string(bundle.meta.priority)),
                   std::string(rollout::to_string(bundle.meta.category)), std::string(rollout::to_string(bundle.triage)),
                   std::to_string(counted.have) + "/" + std::to_string(counted.normal),
                   format_size(bundle.total_bytes), format_timestamp(bundle.created)});
    }
    table.print(*context.out);
    return {};
}

struct ShowOptions {
    std::string id;
    bool json = false;
};

std::string command_text(const std::optional<rollout::BundleCommand>& command) {
    if (!command) return "-";
    return command->command + "  (timeout " + format_duration(command->timeout) + ")";
}

void print_bundle(std::ostream& out, const Home& home, const BundleRecord& bundle, const crypto::TrustRoot& root) {
    const ApprovalTally counted = tally(bundle, root);
    std::string paths;
    for (const auto& path : bundle.meta.paths) paths += (paths.empty() ? "" : ", ") + path;
    const std::vector<std::pair<std::string, std::string>> fields = {
        {"id", rollout::to_hex(bundle.id)},
        {"name", bundle.meta.name},
        {"version", bundle.meta.version},
        {"priority", std::string(rollout::to_string(bundle.meta.priority))},
        {"category", std::string(rollout::to_string(bundle.meta.category))},
        {"triage", std::string(rollout::to_string(bundle.triage))},
        {"reboot", std::string(rollout::to_string(bundle.meta.reboot))},
        {"description", bundle.meta.description.empty() ? "-" : bundle.meta.description},
        {"paths", paths.empty() ? "-" : paths},
        {"install", command_text(bundle.meta.install)},
        {"verify", command_text(bundle.meta.verify)},
        {"rollback", command_text(bundle.meta.rollback)},
        {"precheck", command_text(bundle.meta.precheck)},
        {"size", format_size(bundle.total_bytes) + " in " + std::to_string(bundle.file_count) +
                     (bundle.file_count == 1 ? " file" : " files")},
        {"created", format_timestamp(bundle.created)},
        {"metadata", "sha256 " + rollout::to_hex(bundle.metadata_digest)},
        {"content", absolute_text(bundle_content_dir(home, bundle.id))},
        {"torrent", absolute_text(bundle_torrent_file(home, bundle.id))},
        {"approvals", std::to_string(counted.have) + " (" + requirement_text(counted) + ")"},
    };
    for (const auto& [key, value] : fields) {
        out << key << ':' << std::string(13 - key.size(), ' ') << value << '\n';
    }
    if (bundle.approvals.empty()) return;
    Table table({"  APPROVER", "CHANGE", "APPROVED", "NOTE"});
    for (const auto& approval : bundle.approvals) {
        std::string note = approval.note;
        std::replace(note.begin(), note.end(), '\n', ' ');
        if (!counts(approval, bundle, root)) {
            note = "(does not count: not an approver in trust root v" + std::to_string(root.version) + ") " + note;
        }
        table.add({"  " + approval.approver.to_text(), approval.change_ref, format_timestamp(approval.approved_at),
                   note.empty() ? "-" : note});
    }
    table.print(out);
}

Status run_show(CliContext& context, const ShowOptions& options) {
    auto home = context.open_home(LockMode::shared);
    if (!home) return std::unexpected(home.error());
    auto id = resolve_bundle(home->db(), options.id);
    if (!id) return std::unexpected(id.error());
    auto bundle = get_bundle(home->db(), *id);
    if (!bundle) return std::unexpected(bundle.error());
    auto root = latest_root(home->db());
    if (!root) return std::unexpected(root.error());
    if (options.json) {
        print_json(*context.out, bundle_json(*home, *bundle, root->root));
    } else {
        print_bundle(*context.out, *home, *bundle, root->root);
    }
    return {};
}

struct TriageOptions {
    std::string id;
    std::string status;
    std::optional<std::string> priority;
};

Status run_triage(CliContext& context, const TriageOptions& options) {
    // Values first, so a typo fails before the home is locked.
    auto status = rollout::triage_status_from_string(options.status);
    if (!status) return fail(Errc::invalid_argument, "--status: " + status.error().message());
    std::optional<rollout::Priority> priority;
    if (options.priority) {
        auto parsed = rollout::priority_from_string(*options.priority);
        if (!parsed) return fail(Errc::invalid_argument, "--priority: " + parsed.error().message());
        priority = *parsed;
    }
    auto home = context.open_home(LockMode::exclusive);
    if (!home) return std::unexpected(home.error());
    auto id = resolve_bundle(home->db(), options.id);
    if (!id) return std::unexpected(id.error());
    auto before = get_bundle(home->db(), *id);
    if (!before) return std::unexpected(before.error());
    if (auto ok = set_triage(home->db(), *id, *status, priority); !ok) return ok;
    *context.out << describe(*before) << ": triage " << rollout::to_string(before->triage) << " -> "
                 << rollout::to_string(*status);
    if (priority) {
        *context.out << ", priority " << rollout::to_string(before->meta.priority) << " -> "
                     << rollout::to_string(*priority);
    }
    *context.out << '\n';
    notify_serve(context.home_path());  // a held bundle is no longer seeded
    return {};
}

struct ApproveOptions {
    std::string id;
    std::string key_file;
    std::string change_ref;
    std::string note;
};

Status run_approve(CliContext& context, const ApproveOptions& options) {
    // The issue ties every approval to a change order; the signed approval
    // format refuses an empty reference, so say so before anything is loaded.
    if (options.change_ref.empty()) {
        return fail(Errc::invalid_argument,
                    "bundle approve needs --change REF: every approval is tied to a change-order reference");
    }
    auto now = context.now();
    if (!now) return std::unexpected(now.error());
    auto key = crypto::load_private_key(options.key_file);
    if (!key) return std::unexpected(key.error());
    auto home = context.open_home(LockMode::exclusive);
    if (!home) return std::unexpected(home.error());
    auto id = resolve_bundle(home->db(), options.id);
    if (!id) return std::unexpected(id.error());
    auto root = latest_root(home->db());
    if (!root) return std::unexpected(root.error());
    auto approval = approve_bundle(home->db(), *id, *key, options.change_ref, options.note, root->root, *now);
    if (!approval) {
        // Name the key file: the operator knows files, not key texts.
        if (approval.error().is(Errc::untrusted)) return fail(approval.error().with_context(options.key_file));
        return std::unexpected(approval.error());
    }
    auto bundle = get_bundle(home->db(), *id);
    if (!bundle) return std::unexpected(bundle.error());
    const ApprovalTally counted = tally(*bundle, root->root);
    *context.out << describe(*bundle) << " approved by " << approval->approver.to_text() << " for "
                 << approval->change_ref << ": " << counted.have << " approval" << (counted.have == 1 ? "" : "s")
                 << " (" << requirement_text(counted) << ")\n";
    return {};
}

// Each subcommand parses into its own options, shared with the command the
// callback installs, so nothing refers to a stack frame that is gone.
template <class Options, class Run>
void install(CLI::App* command, CliContext& context, std::shared_ptr<Options> options, Run run) {
    command->callback([&context, options, run] {
        context.command = [&context, options, run] { return run(context, *options); };
    });
}

}  // namespace

void register_bundle_commands(CLI::App& app, CliContext& context) {
    CLI::App* bundle = app.add_subcommand("bundle", "create, list, show, triage and approve patch bundles");
    bundle->require_subcommand(1);

    {
        auto options = std::make_shared<CreateOptions>();
        CLI::App* create = bundle->add_subcommand(
            "create", "add DIR (with DIR/bundle.toml) to the catalog; prints the bundle id (64 hex characters)");
        create->add_option("DIR", options->directory, "bundle directory: bundle.toml plus the payload files")
            ->required();
        create->add_flag("--json", options->json, "print the new bundle as JSON (no progress bar)");
        install(create, context, options, run_create);
    }
    {
        auto options = std::make_shared<ListOptions>();
        CLI::App* list = bundle->add_subcommand("list", "the catalog, newest first");
        list->add_flag("--json", options->json, "print a JSON array of bundles");
        install(list, context, options, run_list);
    }
    {
        auto options = std::make_shared<ShowOptions>();
        CLI::App* show = bundle->add_subcommand("show", "one bundle: metadata, commands, triage and approvals");
        show->add_option("ID", options->id, "bundle id, or a unique prefix of 8+ hex characters")->required();
        show->add_flag("--json", options->json, "print the bundle as JSON");
        install(show, context, options, run_show);
    }
    {
        auto options = std::make_shared<TriageOptions>();
        CLI::App* triage = bundle->add_subcommand("triage", "set a bundle's triage status and priority");
        triage->add_option("ID", options->id, "bundle id, or a unique prefix of 8+ hex characters")->required();
        triage->add_option("--status", options->status, "proceed, hold or cancelled")->required();
        triage->add_option("--priority", options->priority, "critical, high, normal or low");
        install(triage, context, options, run_triage);
    }
    {
        auto options = std::make_shared<ApproveOptions>();
        CLI::App* approve = bundle->add_subcommand("approve", "sign a bundle off with an approver key");
        approve->add_option("ID", options->id, "bundle id, or a unique prefix of 8+ hex characters")->required();
        approve->add_option("--key", options->key_file, "the approver's private key file (mode 0600)")->required();
        approve->add_option("--change", options->change_ref, "change-order reference, e.g. CHG-1234 (required)");
        approve->add_option("--note", options->note, "free text stored with the approval");
        install(approve, context, options, run_approve);
    }
}

}  // namespace patchwave::orchestrator
