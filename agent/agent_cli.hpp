// `patchwave-agent`: init, run, status and defer-reboot (see docs/cli.md and
// docs/agent.md); main.cpp is a thin call into run_agent_cli.
#pragma once

namespace patchwave::agent {

/// Parses the command line and runs the command; returns the exit code
/// (0 done, 1 failed, 2 usage or bad value, 3 untrusted).
int run_agent_cli(int argc, char** argv);

}  // namespace patchwave::agent
