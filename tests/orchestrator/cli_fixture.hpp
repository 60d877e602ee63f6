// Runs the real `patchwave` binary against a scratch home, for CLI tests:
// every call returns the exit code and both output streams.
#pragma once

#include <string>
#include <vector>

#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace patchwave::testing {

class PatchwaveCli {
public:
    PatchwaveCli() : home_(dir_ / "home") {}

    /// `patchwave --home HOME args...`, with PATCHWAVE_NOW when set.
    CommandResult run(std::vector<std::string> args) const {
        std::vector<std::string> argv{PATCHWAVE_BIN, "--home", home_.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        CommandOptions options;
        if (!now_.empty()) options.env["PATCHWAVE_NOW"] = now_;
        return run_command(argv, options);
    }
    /// Runs and requires exit 0, returning stdout.
    std::string ok(std::vector<std::string> args) const;

    void set_now(std::string rfc3339) { now_ = std::move(rfc3339); }
    const std::filesystem::path& home() const { return home_; }
    std::filesystem::path file(const std::string& name) const { return dir_ / name; }

    /// init with 3 approvers, threshold 2, emergency 1.
    void init() const { ok({"init", "--approvers", "3", "--threshold", "2", "--emergency-threshold", "1"}); }
    /// A bundle directory NAME with a valid bundle.toml and an install script.
    std::filesystem::path make_bundle_dir(const std::string& name, const std::string& version = "1.0") const;
    /// `bundle create DIR`, returning the id.
    std::string create_bundle(const std::string& name, const std::string& version = "1.0") const;
    /// Enrolls a fresh agent key as HOST with LABELS (K=V).
    void enroll(const std::string& host, const std::vector<std::string>& labels) const;
    /// Writes a rollout file with a test wave and a prod wave over `bundle_ids`.
    std::filesystem::path write_rollout(const std::string& name, const std::vector<std::string>& bundle_ids,
                                        bool emergency = false) const;

private:
    TempDir dir_;
    std::filesystem::path home_;
    std::string now_;
};

}  // namespace patchwave::testing
