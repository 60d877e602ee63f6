// Runs a real program for CLI tests: argv in, exit code and captured stdout
// and stderr out, killed after a timeout so a hang fails the test instead of CI.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace patchwave::testing {

struct CommandResult {
    int exit_code = -1;  ///< -1 when killed by a signal or the timeout
    std::string out;
    std::string err;
    bool timed_out = false;
};

struct CommandOptions {
    std::map<std::string, std::string> env;  ///< added to (or overriding) the environment
    std::string stdin_text;
    std::chrono::milliseconds timeout{60'000};
};

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

/// Starts a program in the background and returns its pid (for kill tests).
int spawn_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

}  // namespace patchwave::testing
