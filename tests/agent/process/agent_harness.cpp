#include "agent_harness.hpp"

#include <stdexcept>
#include <thread>

#include "common/file_io.hpp"

namespace patchwave::testing {

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    for (int round = 0; round < 100'000; ++round) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

AgentHarness::~AgentHarness() {
    for (auto& [index, process] : agents_)
        if (process) process->terminate(std::chrono::milliseconds(3000));
    if (origin_) origin_->terminate(std::chrono::milliseconds(3000));
}

void AgentHarness::start_origin(const std::map<std::string, std::string>& env) {
    auto process = ChildProcess::spawn(fleet_.origin_args(PATCHWAVE_TEST_ORIGIN), env,
                                       fleet_.dir() / "origin.stderr.log");
    if (!process) throw std::runtime_error("cannot start test_origin: " + process.error().message());
    origin_ = std::move(*process);
    if (!origin_->wait_for_line("ready", std::chrono::seconds(30)))
        throw std::runtime_error("test_origin did not get ready; see " + (fleet_.dir() / "origin.stderr.log").string());
}

void AgentHarness::stop_origin() {
    if (origin_) origin_->terminate(std::chrono::milliseconds(3000));
    origin_.reset();
}

ChildProcess& AgentHarness::start_agent(const FixtureAgent& agent, const std::map<std::string, std::string>& env) {
    auto process = ChildProcess::spawn({PATCHWAVE_AGENT_BIN, "run", "--config", agent.config_file.string()}, env,
                                       agent.dir / "agent.stderr.log");
    if (!process) throw std::runtime_error("cannot start patchwave-agent: " + process.error().message());
    auto& slot = agents_[agent.index];
    if (slot) slot->terminate(std::chrono::milliseconds(3000));
    slot = std::move(*process);
    return *slot;
}

std::optional<int> AgentHarness::stop_agent(const FixtureAgent& agent) {
    auto it = agents_.find(agent.index);
    if (it == agents_.end() || !it->second) return std::nullopt;
    auto code = it->second->terminate(std::chrono::milliseconds(5000));
    agents_.erase(it);
    return code;
}

void AgentHarness::kill_agent(const FixtureAgent& agent) {
    auto it = agents_.find(agent.index);
    if (it == agents_.end() || !it->second) return;
    it->second->kill_hard();
    agents_.erase(it);
}

bool AgentHarness::running(const FixtureAgent& agent) {
    auto it = agents_.find(agent.index);
    return it != agents_.end() && it->second && it->second->running();
}

bool AgentHarness::wait_for_exit(const FixtureAgent& agent, std::chrono::milliseconds limit) {
    const bool exited = eventually([&] { return !running(agent); }, limit);
    if (exited) agents_.erase(agent.index);
    return exited;
}

agent::JournalState AgentHarness::journal(const FixtureAgent& agent) const {
    auto journal = agent::Journal::open(agent.state_dir / "journal.json");
    if (!journal) return {};
    return journal->state();
}

std::optional<agent::BundleJournal> AgentHarness::bundle(const FixtureAgent& agent, const std::string& rollout,
                                                         const rollout::BundleId& id) const {
    const agent::JournalState state = journal(agent);
    const agent::RolloutJournal* found = state.find_rollout(rollout);
    if (found == nullptr) return std::nullopt;
    for (const auto& bundle : found->bundles)
        if (bundle.id == id) return bundle;
    return std::nullopt;
}

bool AgentHarness::wait_for_state(const FixtureAgent& agent, const std::string& rollout, const rollout::BundleId& id,
                                  rollout::HostState state, std::chrono::milliseconds limit) {
    return eventually(
        [&] {
            auto found = bundle(agent, rollout, id);
            return found && found->state == state;
        },
        limit);
}

CommandResult AgentHarness::cli(const FixtureAgent& agent, std::vector<std::string> args) const {
    std::vector<std::string> argv{PATCHWAVE_AGENT_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--config");
    argv.push_back(agent.config_file.string());
    CommandOptions options;
    options.timeout = std::chrono::seconds(20);
    return run_command(argv, options);
}

int AgentHarness::runs(const FixtureAgent& agent, const std::string& name, const std::string& step) const {
    auto text = read_file(agent.system_root / ".patchwave-test" / (name + "." + step + ".count"), 64);
    if (!text) return 0;
    try {
        return std::stoi(*text);
    } catch (const std::exception&) {
        return -1;
    }
}

std::string AgentHarness::describe(const FixtureAgent& agent) const {
    return "journal of " + agent.host + ":\n" + agent::to_json(journal(agent)) + "\nlog tail:\n" + log(agent);
}

std::string AgentHarness::log(const FixtureAgent& agent) const {
    auto text = read_file(agent.dir / "agent.stderr.log", 4 * 1024 * 1024);
    if (!text) return "(no agent log)";
    return text->size() > 6000 ? text->substr(text->size() - 6000) : *text;
}

}  // namespace patchwave::testing
