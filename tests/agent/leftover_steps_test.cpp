#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/leftover_steps.hpp"

using namespace patchwave::agent;

namespace {

// A `sleep 30` whose environment holds only PATCHWAVE_AGENT=<marker>, as a step would.
pid_t spawn_marked_sleep(const std::string& marker) {
    std::string entry = std::string(kStepMarkerVariable) + "=" + marker;
    char* argv[] = {const_cast<char*>("/bin/sleep"), const_cast<char*>("30"), nullptr};
    char* envp[] = {entry.data(), nullptr};
    pid_t pid = 0;
    REQUIRE(::posix_spawn(&pid, "/bin/sleep", nullptr, nullptr, argv, envp) == 0);
    REQUIRE(pid > 1);
    return pid;
}

// Waits (bounded) for our child to end; returns the signal that ended it, or 0.
int reaped_signal(pid_t pid, std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
}

}  // namespace

TEST_CASE("leftover steps: only processes carrying this agent's marker are killed", "[leftover]") {
    const std::string marker = "test-" + std::to_string(::getpid());
    const pid_t leftover = spawn_marked_sleep(marker);
    const pid_t other_agent = spawn_marked_sleep(marker + "-other");
    // posix_spawn returns once the child exists; its environment is readable after exec.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

    CHECK(kill_leftover_steps(marker, std::chrono::milliseconds(2'000)) == 1);
    CHECK(reaped_signal(leftover, std::chrono::milliseconds(2'000)) == SIGKILL);

    int status = 0;
    CHECK(::waitpid(other_agent, &status, WNOHANG) == 0);  // still running
    ::kill(other_agent, SIGKILL);
    CHECK(reaped_signal(other_agent, std::chrono::milliseconds(2'000)) == SIGKILL);
}

TEST_CASE("leftover steps: nothing to do when no process carries the marker", "[leftover]") {
    CHECK(kill_leftover_steps("no-such-agent-" + std::to_string(::getpid()), std::chrono::milliseconds(200)) == 0);
    CHECK(kill_leftover_steps("", std::chrono::milliseconds(200)) == 0);
}
