// patchwave: the orchestrator CLI (see docs/cli.md).
#include "orchestrator/cli.hpp"

int main(int argc, char** argv) { return patchwave::orchestrator::run_patchwave_cli(argc, argv); }
