// patchwave-agent: the endpoint agent (see docs/agent.md).
#include "agent/agent_cli.hpp"

int main(int argc, char** argv) { return patchwave::agent::run_agent_cli(argc, argv); }
