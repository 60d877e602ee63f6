// `patchwave init`, `key generate`, `enroll`, `trust export|rotate`: creating
// the home and its keys, signing agent certificates, and the trust root's life.
#include <CLI/CLI.hpp>
#include <ostream>

#include "common/duration.hpp"
#include "common/file_io.hpp"
#include "common/hex.hpp"
#include "crypto/key_file.hpp"
#include "orchestrator/cli.hpp"
#include "orchestrator/host_registry.hpp"
#include "orchestrator/key_store.hpp"
#include "orchestrator/serve_notify.hpp"
#include "orchestrator/trust_store.hpp"
#include "rollout/certificate.hpp"

namespace patchwave::orchestrator {
namespace {

std::string describe_root(const crypto::TrustRoot& root) {
    const auto& approvers = root.role(crypto::Role::approver);
    return "trust root v" + std::to_string(root.version) + ", expires " + format_timestamp(root.expires) +
           "; approvals: " + std::to_string(approvers.threshold) + " of " + std::to_string(approvers.keys.size()) +
           " (emergency: " + std::to_string(root.approver_emergency_threshold) + ")";
}

Result<Duration> parse_lifetime(const std::string& text, std::string_view flag) {
    auto lifetime = parse_duration(text);
    if (!lifetime) return std::unexpected(lifetime.error().with_context(flag));
    if (lifetime->count() <= 0) return fail(Errc::invalid_argument, std::string(flag) + ": must be longer than 0");
    return lifetime;
}

// A public key given on the command line: its text form, or a file holding
// either that text or a private key (whose public half is taken). A private
// key is returned too, so rotations can import and sign with it.
struct KeyArgument {
    crypto::PublicKey public_key;
    std::optional<crypto::PrivateKey> private_key;
};

Result<KeyArgument> read_key_argument(const std::string& text, std::string_view flag) {
    if (text.starts_with(crypto::PublicKey::kTextPrefix)) {
        auto key = crypto::PublicKey::from_text(text);
        if (!key) return fail(Errc::invalid_argument, std::string(flag) + ": " + key.error().message());
        return KeyArgument{*key, std::nullopt};
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(text, ec)) {
        return fail(Errc::invalid_argument, std::string(flag) + ": \"" + text +
                                                "\" is neither a public key (ed25519:...) nor a key file");
    }
    auto content = read_file(text, 4096);
    if (!content) return std::unexpected(content.error().with_context(flag));
    if (content->find("patchwave-private-key-v1") != std::string::npos) {
        auto key = crypto::load_private_key(text);
        if (!key) return std::unexpected(key.error().with_context(flag));
        crypto::PublicKey public_key = key->public_key();
        return KeyArgument{public_key, std::move(*key)};
    }
    auto key = crypto::load_public_key(text);
    if (!key) return fail(Errc::invalid_argument, std::string(flag) + ": " + key.error().message());
    return KeyArgument{*key, std::nullopt};
}

void register_init(CLI::App& app, CliContext& context) {
    struct Options {
        std::uint32_t approvers = 3;
        std::uint32_t threshold = 2;
        std::uint32_t emergency = 1;
        std::string lifetime = "365d";
    };
    auto options = std::make_shared<Options>();
    auto* command = app.add_subcommand("init", "create the home: keys, the signed trust root v1, the database");
    command->add_option("--approvers", options->approvers, "approver keys to create (N)")->check(CLI::Range(1, 32));
    command->add_option("--threshold", options->threshold, "approvals a normal rollout needs (K of N)")
        ->check(CLI::Range(1, 32));
    command->add_option("--emergency-threshold", options->emergency, "approvals an emergency rollout needs")
        ->check(CLI::Range(1, 32));
    command->add_option("--root-expires", options->lifetime, "how long trust root v1 is valid");
    command->callback([&context, options] {
        context.command = [&context, options]() -> Status {
            auto now = context.now();
            if (!now) return std::unexpected(now.error());
            auto lifetime = parse_lifetime(options->lifetime, "--root-expires");
            if (!lifetime) return std::unexpected(lifetime.error());
            if (options->threshold > options->approvers || options->emergency > options->approvers) {
                return fail(Errc::invalid_argument,
                            "--threshold " + std::to_string(options->threshold) + " and --emergency-threshold " +
                                std::to_string(options->emergency) + " must not exceed --approvers " +
                                std::to_string(options->approvers));
            }
            InitOptions init;
            init.approvers = options->approvers;
            init.threshold = options->threshold;
            init.emergency_threshold = options->emergency;
            init.root_lifetime = *lifetime;
            init.now = *now;
            auto report = Home::init(context.home_path(), init);
            if (!report) return std::unexpected(report.error());
            auto& out = *context.out;
            out << "created home " << context.home_path().string() << "\n" << describe_root(report->root) << "\n\nkeys (0600):\n";
            for (const auto& file : report->key_files) out << "  " << file.string() << "\n";
            out << "\nGive each approver their approver-N.key and remove it from this machine;\n"
                   "agents pin the trust root: patchwave trust export --out root.pwe\n";
            return {};
        };
    });
}

void register_key(CLI::App& app, CliContext& context) {
    auto* key = app.add_subcommand("key", "manage Ed25519 key files");
    key->require_subcommand(1);
    auto out_file = std::make_shared<std::string>();
    auto* generate = key->add_subcommand("generate", "write a new private key (0600) and print its public key");
    generate->add_option("--out", *out_file, "the private key file to write (never overwritten)")->required();
    generate->callback([&context, out_file] {
        context.command = [&context, out_file]() -> Status {
            crypto::PrivateKey fresh = crypto::PrivateKey::generate();
            if (auto ok = crypto::save_private_key(*out_file, fresh); !ok) return ok;
            *context.out << fresh.public_key().to_text() << "\n";
            return {};
        };
    });
}

void register_enroll(CLI::App& app, CliContext& context) {
    struct Options {
        std::string pubkey;
        std::string host;
        std::vector<std::string> labels;
        std::string out;
        std::string lifetime = "365d";
    };
    auto options = std::make_shared<Options>();
    auto* command = app.add_subcommand("enroll", "sign an agent certificate (host name and labels for its key)");
    command->add_option("--pubkey", options->pubkey, "the agent's public key (ed25519:... or a file holding it)")
        ->required();
    command->add_option("--host", options->host, "the host name")->required();
    command->add_option("--label", options->labels, "a label K=V (repeatable); labels decide the wave");
    command->add_option("--out", options->out, "the certificate file to write")->required();
    command->add_option("--expires", options->lifetime, "how long the certificate is valid");
    command->callback([&context, options] {
        context.command = [&context, options]() -> Status {
            auto now = context.now();
            if (!now) return std::unexpected(now.error());
            auto lifetime = parse_lifetime(options->lifetime, "--expires");
            if (!lifetime) return std::unexpected(lifetime.error());
            auto key = read_key_argument(options->pubkey, "--pubkey");
            if (!key) return std::unexpected(key.error());
            rollout::AgentCertificate certificate;
            certificate.agent_key = key->public_key;
            certificate.host = options->host;
            certificate.issued = *now;
            certificate.expires = *now + *lifetime;
            for (const auto& label : options->labels) {
                const auto equals = label.find('=');
                if (equals == std::string::npos || equals == 0) {
                    return fail(Errc::invalid_argument, "--label \"" + label + "\": expected KEY=VALUE");
                }
                if (!certificate.labels.emplace(label.substr(0, equals), label.substr(equals + 1)).second) {
                    return fail(Errc::invalid_argument, "--label \"" + label + "\": label given twice");
                }
            }
            // The same rules agents apply when they read the certificate.
            if (auto valid = rollout::AgentCertificate::parse_json(certificate.to_json()); !valid) {
                return fail(Errc::invalid_argument, valid.error().message());
            }
            auto home = context.open_home(LockMode::exclusive);
            if (!home) return std::unexpected(home.error());
            auto root = latest_root(home->db());
            if (!root) return std::unexpected(root.error());
            auto signer = signing_keys(home->keys_dir(), root->root, crypto::Role::enrollment, 1);
            if (!signer) return std::unexpected(signer.error());
            const crypto::Envelope envelope = certificate.sign(signer->front());
            auto bytes = envelope.encode();
            if (!bytes) return std::unexpected(bytes.error());
            const std::string_view data(reinterpret_cast<const char*>(bytes->data()), bytes->size());
            if (auto ok = write_file_atomic(options->out, data, 0644); !ok) return ok;
            if (auto ok = store_certificate(home->db(), certificate, envelope, *now); !ok) return ok;
            *context.out << "enrolled " << certificate.host << " (agent " << to_hex(certificate.agent_id())
                         << "), certificate " << options->out << " valid until "
                         << format_timestamp(certificate.expires) << "\n";
            notify_serve(context.home_path());
            return {};
        };
    });
}

void register_trust(CLI::App& app, CliContext& context) {
    auto* trust = app.add_subcommand("trust", "export or rotate the trust root");
    trust->require_subcommand(1);

    struct ExportOptions {
        std::string out;
        std::optional<std::uint64_t> version;
    };
    auto export_options = std::make_shared<ExportOptions>();
    auto* exporter = trust->add_subcommand("export", "write the signed trust root that agents pin");
    exporter->add_option("--out", export_options->out, "the file to write")->required();
    exporter->add_option("--version", export_options->version, "an older version from the history (default: newest)");
    exporter->callback([&context, export_options] {
        context.command = [&context, export_options]() -> Status {
            auto home = context.open_home(LockMode::shared);
            if (!home) return std::unexpected(home.error());
            auto history = root_history(home->db());
            if (!history) return std::unexpected(history.error());
            if (history->empty()) return fail(Errc::not_found, "the home has no trust root");
            const std::uint64_t wanted = export_options->version.value_or(history->size());
            if (wanted == 0 || wanted > history->size()) {
                return fail(Errc::not_found, "no trust root v" + std::to_string(wanted) + " (the home has v1-v" +
                                                 std::to_string(history->size()) + ")");
            }
            auto bytes = (*history)[wanted - 1].encode();
            if (!bytes) return std::unexpected(bytes.error());
            if (auto ok = write_file_atomic(export_options->out,
                                            std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()),
                                            0644);
                !ok) {
                return ok;
            }
            *context.out << "wrote trust root v" << wanted << " to " << export_options->out << "\n";
            return {};
        };
    });

    struct RotateOptions {
        std::string role;
        std::vector<std::string> add;
        std::vector<std::string> remove;
        std::optional<std::uint32_t> threshold;
        std::optional<std::uint32_t> emergency;
        std::string lifetime = "365d";
    };
    auto rotate_options = std::make_shared<RotateOptions>();
    auto* rotate = trust->add_subcommand("rotate", "sign trust root v(n+1) with the old and the new root keys");
    rotate->add_option("--role", rotate_options->role, "root, release, operator, approver or enrollment")->required();
    rotate->add_option("--add", rotate_options->add,
                       "a key to add: ed25519:..., a public key file, or a private key file (imported into the home)");
    rotate->add_option("--remove", rotate_options->remove, "a key to remove: ed25519:... or a key file");
    rotate->add_option("--threshold", rotate_options->threshold, "the role's new threshold")->check(CLI::Range(1, 32));
    rotate->add_option("--emergency-threshold", rotate_options->emergency, "approver role: the emergency threshold")
        ->check(CLI::Range(1, 32));
    rotate->add_option("--expires", rotate_options->lifetime, "how long the new root is valid");
    rotate->callback([&context, rotate_options] {
        context.command = [&context, rotate_options]() -> Status {
            auto now = context.now();
            if (!now) return std::unexpected(now.error());
            auto role = crypto::role_from_string(rotate_options->role);
            if (!role) return std::unexpected(role.error().with_context("--role"));
            auto lifetime = parse_lifetime(rotate_options->lifetime, "--expires");
            if (!lifetime) return std::unexpected(lifetime.error());
            RotateRequest request;
            request.role = *role;
            request.threshold = rotate_options->threshold;
            request.emergency_threshold = rotate_options->emergency;
            request.lifetime = *lifetime;
            request.now = *now;
            std::vector<crypto::PrivateKey> imports;
            for (const auto& text : rotate_options->add) {
                auto key = read_key_argument(text, "--add");
                if (!key) return std::unexpected(key.error());
                request.add.push_back(key->public_key);
                if (key->private_key) imports.push_back(std::move(*key->private_key));
            }
            for (const auto& text : rotate_options->remove) {
                auto key = read_key_argument(text, "--remove");
                if (!key) return std::unexpected(key.error());
                request.remove.push_back(key->public_key);
            }
            if (request.add.empty() && request.remove.empty() && !request.threshold && !request.emergency_threshold) {
                return fail(Errc::invalid_argument, "nothing to change: give --add, --remove, --threshold or "
                                                    "--emergency-threshold");
            }
            request.extra_signers = imports;
            auto home = context.open_home(LockMode::exclusive);
            if (!home) return std::unexpected(home.error());
            auto next = rotate_root(*home, request);
            if (!next) return std::unexpected(next.error());
            // Only now: a refused rotation leaves the home's keys as they were.
            for (const auto& key : imports) {
                if (auto file = import_key(home->keys_dir(), key, *role); !file) return std::unexpected(file.error());
            }
            *context.out << "signed " << describe_root(*next) << "\n"
                         << "agents at any older version walk forward through the history; export it with "
                            "`patchwave trust export`\n";
            notify_serve(context.home_path());
            return {};
        };
    });
}

}  // namespace

void register_init_commands(CLI::App& app, CliContext& context) {
    register_init(app, context);
    register_key(app, context);
    register_enroll(app, context);
    register_trust(app, context);
}

}  // namespace patchwave::orchestrator
