#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "common/child_setup.hpp"
#include "common/unique_fd.hpp"

using namespace patchwave;

namespace {

// Forks a child that runs the shared setup (when `set_up`) the way both
// command runners do, then execs a shell script; returns its stdout.
std::string run_child(const std::string& script, bool set_up) {
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    UniqueFd read_end(pipe_fds[0]);
    UniqueFd write_end(pipe_fds[1]);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (set_up) child_reset_process_state();
        const int out = child_move_above_stdio(write_end.get());
        if (out < 0 || ::dup2(out, 1) < 0) ::_exit(126);
        if (set_up) child_close_on_exec_from_3();
        ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    write_end.reset();
    std::string output;
    char buffer[512];
    for (int reads = 0; reads < 1000; ++reads) {
        const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
        if (n <= 0) break;
        output.append(buffer, static_cast<std::size_t>(n));
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    return output;
}

}  // namespace

TEST_CASE("UniqueFd closes what it holds once, and moves ownership", "[common][fd]") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const int read_fd = fds[0];
    {
        UniqueFd write_end(fds[1]);
        UniqueFd moved(std::move(write_end));
        CHECK_FALSE(write_end);
        CHECK(moved.get() == fds[1]);
        UniqueFd reader(read_fd);
        const int released = reader.release();
        CHECK(released == read_fd);
        CHECK_FALSE(reader);
    }
    // The write end was closed when `moved` went out of scope: EOF now.
    char byte = 0;
    CHECK(::read(read_fd, &byte, 1) == 0);
    // The released read end was not closed by its UniqueFd.
    CHECK(::fcntl(read_fd, F_GETFD) >= 0);
    ::close(read_fd);
}

TEST_CASE("a child set up for exec has its own group, default signals and nothing beyond stdio", "[common][child]") {
    // What the daemon holds (an ignored SIGPIPE, a blocked SIGTERM, a
    // descriptor opened without O_CLOEXEC) must not reach a command.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction previous {};
    REQUIRE(::sigaction(SIGPIPE, &ignore, &previous) == 0);
    sigset_t blocked, old_mask;
    ::sigemptyset(&blocked);
    ::sigaddset(&blocked, SIGTERM);
    REQUIRE(::pthread_sigmask(SIG_BLOCK, &blocked, &old_mask) == 0);
    UniqueFd leaked(::open("/dev/null", O_RDONLY));  // no O_CLOEXEC on purpose
    REQUIRE(leaked);

    // A descriptor number no shell uses for itself, so its presence can only be the leak.
    UniqueFd high(::fcntl(leaked.get(), F_DUPFD, 40));
    REQUIRE(high);
    const std::string script =
        "set -- $(cut -d' ' -f5 /proc/$$/stat); [ \"$1\" = \"$$\" ] && echo own_group=yes || echo own_group=no; "
        "grep -E '^Sig(Ign|Blk):' /proc/self/status; "
        "[ -e /proc/self/fd/" + std::to_string(high.get()) + " ] && echo leaked=yes || echo leaked=no";
    const std::string set_up = run_child(script, true);
    // The control: the same child without the setup keeps the daemon's group, its ignored SIGPIPE and
    // the descriptor, so these checks can fail (dash empties its signal mask itself: no control for that).
    const std::string bare = run_child(script, false);

    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    ::sigaction(SIGPIPE, &previous, nullptr);

    INFO("set up:\n" << set_up << "bare:\n" << bare);
    CHECK(set_up.find("own_group=yes\n") != std::string::npos);
    CHECK(set_up.find("SigIgn:\t0000000000000000\n") != std::string::npos);
    CHECK(set_up.find("SigBlk:\t0000000000000000\n") != std::string::npos);
    CHECK(set_up.find("leaked=no\n") != std::string::npos);
    CHECK(bare.find("own_group=no\n") != std::string::npos);
    CHECK(bare.find("SigIgn:\t0000000000000000\n") == std::string::npos);
    CHECK(bare.find("leaked=yes\n") != std::string::npos);
}
