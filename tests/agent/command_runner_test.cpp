#include "agent/command_runner.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using patchwave::Errc;
using patchwave::agent::CommandOutcome;
using patchwave::agent::CommandRequest;
using patchwave::agent::run_command;
using patchwave::testing::TempDir;

CommandRequest request_in(const TempDir& dir, std::string command, std::chrono::milliseconds timeout = 10'000ms) {
    CommandRequest request;
    request.step = "install";
    request.command.command = std::move(command);
    request.command.timeout = std::chrono::seconds(60);
    request.timeout_override = timeout;
    request.working_directory = dir.path();
    request.log_file = dir / "install.log";
    return request;
}

std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

CommandOutcome run_ok(const CommandRequest& request, const std::atomic<bool>* cancel = nullptr) {
    auto outcome = run_command(request, cancel);
    if (!outcome) FAIL(outcome.error().message());
    return *outcome;
}

// Gone, or a zombie waiting for init: either way no longer running. Bounded: at most 2 s.
bool process_gone(pid_t pid) {
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < until) {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(stat, line)) return true;
        const auto close = line.rfind(')');
        if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z') return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

pid_t read_pid(const std::filesystem::path& path) {
    const std::string text = slurp(path);
    return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
}

bool no_children_left() {
    return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

}  // namespace

TEST_CASE("command runner reports exit codes and reaps the child", "[agent][command_runner]") {
    TempDir dir;
    // Success is exit 0; any other exit code is a failure described by its number.
    const auto ok = run_ok(request_in(dir, "true"));
    CHECK(ok.succeeded());
    CHECK(ok.exit_code == 0);
    CHECK(ok.signal == 0);
    CHECK(ok.describe() == "exit code 0");

    const auto three = run_ok(request_in(dir, "exit 3"));
    CHECK_FALSE(three.succeeded());
    CHECK(three.exit_code == 3);
    CHECK_FALSE(three.timed_out);
    CHECK(three.describe() == "exit code 3");
    CHECK(no_children_left());
}

TEST_CASE("command runner reports a death by signal", "[agent][command_runner]") {
    TempDir dir;
    const auto outcome = run_ok(request_in(dir, "echo about to die; kill -9 $$"));
    CHECK_FALSE(outcome.succeeded());
    CHECK(outcome.signal == SIGKILL);
    CHECK_FALSE(outcome.timed_out);
    CHECK(outcome.describe() == "killed by signal 9: about to die");
}

TEST_CASE("command runner appends output to the log and keeps the tail", "[agent][command_runner]") {
    TempDir dir;
    std::filesystem::path log = dir / "install.log";
    std::ofstream(log) << "earlier run\n";
    auto request = request_in(dir, "echo to-stdout; echo to-stderr >&2; echo 'the reason'; exit 2");
    const auto outcome = run_ok(request);
    CHECK(outcome.tail == "to-stdout\nto-stderr\nthe reason\n");
    CHECK(outcome.describe() == "exit code 2: the reason");

    const std::string text = slurp(log);
    CHECK(text.rfind("earlier run\n", 0) == 0);  // appended, not replaced
    CHECK(text.find("install: running `echo to-stdout;") != std::string::npos);
    CHECK(text.find("to-stdout\nto-stderr\nthe reason\n") != std::string::npos);
    CHECK(text.find("install ended: exit code 2 after ") != std::string::npos);
}

TEST_CASE("command runner bounds the tail in lines and bytes", "[agent][command_runner]") {
    TempDir dir;
    const auto lines = run_ok(request_in(dir, "i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); done"));
    CHECK(lines.tail.rfind("line80\n", 0) == 0);
    CHECK(std::count(lines.tail.begin(), lines.tail.end(), '\n') == 20);
    CHECK(lines.describe() == "exit code 0: line99");

    const auto bytes = run_ok(request_in(dir, "head -c 100000 /dev/zero | tr '\\000' x"));
    CHECK(bytes.tail.size() == patchwave::agent::kTailMaxBytes);
    CHECK(bytes.tail.find_first_not_of('x') == std::string::npos);
    // The log has all of it.
    CHECK(slurp(dir / "install.log").find(std::string(100000, 'x')) != std::string::npos);
}

TEST_CASE("command runner makes the tail safe for JSON", "[agent][command_runner]") {
    TempDir dir;
    const auto outcome = run_ok(request_in(dir, "printf 'a\\001b\\377c caf\\303\\251\\r\\nnext\\n'"));
    CHECK(outcome.tail == "a?b?c caf\xc3\xa9\nnext\n");
}

TEST_CASE("command runner kills the whole tree at the timeout", "[agent][command_runner]") {
    TempDir dir;
    // A background grandchild and a foreground child: both must go.
    auto request = request_in(dir, "sleep 1000 & echo $! > grandchild.pid; sleep 1000", 300ms);
    const auto started = std::chrono::steady_clock::now();
    const auto outcome = run_ok(request);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(outcome.timed_out);
    CHECK_FALSE(outcome.succeeded());
    CHECK(outcome.exit_code == -1);
    CHECK(outcome.signal == 0);
    CHECK(outcome.describe() == "timed out after 300ms");
    CHECK(elapsed >= 300ms);
    CHECK(elapsed < 2s);  // SIGTERM does it: far below timeout + grace
    const pid_t grandchild = read_pid(dir / "grandchild.pid");
    REQUIRE(grandchild > 0);
    CHECK(process_gone(grandchild));
    CHECK(slurp(dir / "install.log").find("install ended: timed out after 300ms") != std::string::npos);
    CHECK(no_children_left());
}

TEST_CASE("command runner escalates to SIGKILL when SIGTERM is ignored", "[agent][command_runner]") {
    TempDir dir;
    // `trap '' TERM` is inherited by the sleeps, so only SIGKILL after the grace ends them.
    auto request = request_in(dir, "trap '' TERM; sleep 1000 & echo $! > grandchild.pid; sleep 1000", 300ms);
    request.kill_grace = 300ms;
    const auto started = std::chrono::steady_clock::now();
    const auto outcome = run_ok(request);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(outcome.timed_out);
    CHECK(elapsed >= 600ms);
    CHECK(elapsed < 2500ms);
    const pid_t grandchild = read_pid(dir / "grandchild.pid");
    REQUIRE(grandchild > 0);
    CHECK(process_gone(grandchild));
}

TEST_CASE("command runner kills the command when cancelled", "[agent][command_runner]") {
    TempDir dir;
    std::atomic<bool> cancel{false};
    std::thread canceller([&cancel] {
        std::this_thread::sleep_for(200ms);
        cancel = true;
    });
    const auto started = std::chrono::steady_clock::now();
    auto outcome = run_command(request_in(dir, "sleep 1000 & echo $! > grandchild.pid; sleep 1000"), &cancel);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    canceller.join();
    REQUIRE(outcome);
    CHECK(outcome->cancelled);
    CHECK_FALSE(outcome->timed_out);
    CHECK(outcome->signal == SIGKILL);
    CHECK_FALSE(outcome->succeeded());
    CHECK(elapsed < 1500ms);
    const pid_t grandchild = read_pid(dir / "grandchild.pid");
    REQUIRE(grandchild > 0);
    CHECK(process_gone(grandchild));
}

TEST_CASE("command runner starts nothing when already cancelled", "[agent][command_runner]") {
    TempDir dir;
    const std::atomic<bool> cancel{true};
    auto outcome = run_command(request_in(dir, "touch ran"), &cancel);
    REQUIRE(outcome);
    CHECK(outcome->cancelled);
    CHECK(outcome->signal == SIGKILL);
    CHECK_FALSE(std::filesystem::exists(dir / "ran"));
}

TEST_CASE("command runner does not wait for a grandchild holding the output pipe", "[agent][command_runner]") {
    TempDir dir;
    // The leader exits at once; its background child keeps stdout open for 3 s.
    const auto started = std::chrono::steady_clock::now();
    const auto outcome = run_ok(request_in(dir, "sleep 3 & echo $! > straggler.pid; echo leader done"));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(outcome.succeeded());
    CHECK(outcome.tail == "leader done\n");
    CHECK(elapsed < 1500ms);
    const pid_t straggler = read_pid(dir / "straggler.pid");
    if (straggler > 0) ::kill(straggler, SIGKILL);  // our own test's process, by its exact pid
}

TEST_CASE("command runner runs in the working directory with the given environment", "[agent][command_runner]") {
    TempDir dir;
    REQUIRE(::setenv("PATCHWAVE_TEST_NOT_INHERITED", "leak", 1) == 0);
    auto request = request_in(dir,
                              "pwd; echo \"root=$PATCHWAVE_ROOT lang=$LANG path=$PATH\"; "
                              "echo \"${PATCHWAVE_TEST_NOT_INHERITED-unset}\"");
    request.environment["PATCHWAVE_ROOT"] = "/srv/root";
    const auto outcome = run_ok(request);
    ::unsetenv("PATCHWAVE_TEST_NOT_INHERITED");
    REQUIRE(outcome.succeeded());
    const std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    CHECK(outcome.tail
          == std::filesystem::canonical(dir.path()).string() + "\nroot=/srv/root lang=C path=" + path + "\nunset\n");
}

TEST_CASE("command runner refuses what it cannot start", "[agent][command_runner]") {
    TempDir dir;
    // A missing working directory is an io error naming it, and nothing runs.
    auto missing_dir = request_in(dir, "touch ran");
    missing_dir.working_directory = dir / "no-such-bundle";
    auto outcome = run_command(missing_dir);
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().is(Errc::io));
    CHECK(outcome.error().message().find("no-such-bundle") != std::string::npos);

    // An unwritable log file as well.
    auto bad_log = request_in(dir, "touch ran");
    bad_log.log_file = dir / "no-such-dir" / "install.log";
    outcome = run_command(bad_log);
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().is(Errc::io));
    CHECK(outcome.error().message().find("log file") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "ran"));

    auto bad_env = request_in(dir, "true");
    bad_env.environment["A=B"] = "x";
    outcome = run_command(bad_env);
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().is(Errc::invalid_argument));
}

TEST_CASE("command runner gives the command /dev/null as stdin", "[agent][command_runner]") {
    TempDir dir;
    // `cat` would block on any other stdin; it must end at once with nothing read.
    const auto outcome = run_ok(request_in(dir, "readlink /proc/$$/fd/0; cat; echo end", 2'000ms));
    CHECK_FALSE(outcome.timed_out);
    CHECK(outcome.tail == "/dev/null\nend\n");
}

TEST_CASE("command runner leaks no descriptors into the command", "[agent][command_runner]") {
    TempDir dir;
    // A descriptor opened without O_CLOEXEC (as a library might) must not reach the command either.
    const int stray = ::open("/dev/null", O_RDONLY);
    REQUIRE(stray >= 0);
    const auto outcome = run_ok(request_in(dir, "ls /proc/$$/fd"));
    ::close(stray);
    CHECK(outcome.tail == "0\n1\n2\n");
}
