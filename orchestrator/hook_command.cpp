// The command hook: /bin/sh -c in a process group of its own, the event on stdin, output to the log.
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child_setup.hpp"
#include "common/unique_fd.hpp"
#include "orchestrator/hook_delivery.hpp"

namespace patchwave::orchestrator {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kSlice{50};                // how often stop and the deadline are looked at
constexpr milliseconds kDrainWindow{200};         // output still read after the shell exited (background children)
constexpr std::size_t kLogLimit = 64 * 1024;      // output bytes logged per attempt; the rest is counted

std::string errno_text(int error) {
    return std::strerror(error);
}

// In the forked child of a threaded process: async-signal-safe calls only. Never returns.
[[noreturn]] void exec_child(int stdin_fd, int stdout_fd, int stderr_fd, char* const argv[]) {
    child_reset_process_state();
    stdin_fd = child_move_above_stdio(stdin_fd);
    stdout_fd = child_move_above_stdio(stdout_fd);
    stderr_fd = child_move_above_stdio(stderr_fd);
    if (stdin_fd < 0 || stdout_fd < 0 || stderr_fd < 0) ::_exit(126);
    if (::dup2(stdin_fd, 0) < 0 || ::dup2(stdout_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0) ::_exit(126);
    // Nothing else of the daemon's (sockets, the database) crosses exec.
    child_close_on_exec_from_3();
    ::execv("/bin/sh", argv);
    ::_exit(127);
}

// Splits a stream into log lines prefixed with the hook, within a per-attempt byte budget.
class LineLogger {
public:
    LineLogger(std::string_view label, std::string_view stream, spdlog::level::level_enum level, std::size_t& budget)
        : label_(label), stream_(stream), level_(level), budget_(budget) {}

    void feed(std::string_view bytes) {
        for (char c : bytes) {
            if (c == '\n') {
                flush();
            } else {
                partial_ += c;
            }
        }
    }
    void flush() {
        if (partial_.empty()) return;
        if (partial_.size() <= budget_) {
            budget_ -= partial_.size();
            spdlog::log(level_, "{} {}: {}", label_, stream_, partial_);
        } else {
            if (budget_ > 0) spdlog::warn("{}: output beyond {} bytes is not logged", label_, kLogLimit);
            budget_ = 0;
        }
        partial_.clear();
    }

private:
    std::string_view label_;
    std::string_view stream_;
    spdlog::level::level_enum level_;
    std::size_t& budget_;
    std::string partial_;
};

}  // namespace

Status run_hook_command(const std::string& command, const std::string& body, std::string_view label,
                        milliseconds timeout, const std::atomic<bool>& stop) {
    // stdin is a socket so a command that never reads it costs EPIPE on send (MSG_NOSIGNAL), not a SIGPIPE.
    std::array<int, 2> in{-1, -1}, out{-1, -1}, err{-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in.data()) < 0) {
        return fail(Errc::io, "socketpair: " + errno_text(errno));
    }
    UniqueFd in_parent(in[0]), in_child(in[1]);
    if (::pipe2(out.data(), O_CLOEXEC) < 0) return fail(Errc::io, "pipe: " + errno_text(errno));
    UniqueFd out_parent(out[0]), out_child(out[1]);
    if (::pipe2(err.data(), O_CLOEXEC) < 0) return fail(Errc::io, "pipe: " + errno_text(errno));
    UniqueFd err_parent(err[0]), err_child(err[1]);

    std::string sh = "sh", dash_c = "-c", script = command;
    std::array<char*, 4> argv{sh.data(), dash_c.data(), script.data(), nullptr};
    const pid_t pid = ::fork();
    if (pid < 0) return fail(Errc::io, "fork: " + errno_text(errno));
    if (pid == 0) exec_child(in_child.get(), out_child.get(), err_child.get(), argv.data());
    // Also here, so kill(-pid) is right even before the child ran its own setpgid.
    ::setpgid(pid, pid);
    in_child.reset();
    out_child.reset();
    err_child.reset();
    for (int fd : {in_parent.get(), out_parent.get(), err_parent.get()})
        ::fcntl(fd, F_SETFL, O_NONBLOCK);

    std::size_t budget = kLogLimit;
    LineLogger out_log(label, "stdout", spdlog::level::info, budget);
    LineLogger err_log(label, "stderr", spdlog::level::warn, budget);
    std::size_t written = 0;
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    bool exited = false, timed_out = false, stopped = false, reaped_elsewhere = false;
    Clock::time_point drain_until{};
    siginfo_t info{};

    // pid > 0 is our child, leader of the group it made, and not yet reaped: -pid is a group we created.
    auto kill_group = [pid] {
        if (pid > 0) ::kill(-pid, SIGKILL);
    };
    auto read_into = [](UniqueFd& fd, LineLogger& log) {
        std::array<char, 4096> buffer{};
        for (;;) {
            const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
            if (n > 0) {
                log.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
                continue;
            }
            if (n < 0 && (errno == EINTR)) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            fd.reset();  // EOF or an error: nothing more comes from this stream
            return;
        }
    };

    while (!exited || out_parent || err_parent) {
        std::array<pollfd, 3> fds{};
        nfds_t count = 0;
        if (in_parent) fds[count++] = {in_parent.get(), POLLOUT, 0};
        if (out_parent) fds[count++] = {out_parent.get(), POLLIN, 0};
        if (err_parent) fds[count++] = {err_parent.get(), POLLIN, 0};
        if (count > 0) {
            ::poll(fds.data(), count, static_cast<int>(kSlice.count()));
        } else {
            ::usleep(static_cast<useconds_t>(std::chrono::microseconds(kSlice).count() / 5));
        }
        if (in_parent) {
            while (written < body.size()) {
                const ssize_t n =
                    ::send(in_parent.get(), body.data() + written, body.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                    written += static_cast<std::size_t>(n);
                } else if (n < 0 && errno == EINTR) {
                    continue;
                } else {
                    break;
                }
            }
            // All sent, or the command closed its stdin (EPIPE): either way it sees the end of the input.
            if (written == body.size() || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                in_parent.reset();
            }
        }
        if (out_parent) read_into(out_parent, out_log);
        if (err_parent) read_into(err_parent, err_log);

        const auto now = Clock::now();
        if (!exited) {
            info = {};
            // WNOWAIT: the leader stays a zombie, so its group id cannot be reused while we may still kill it.
            const int waited = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
            // ECHILD: SIGCHLD is ignored in this process, so the kernel reaped the child itself.
            if (waited < 0 && errno == ECHILD) reaped_elsewhere = true;
            if (reaped_elsewhere || (waited == 0 && info.si_pid == pid)) {
                exited = true;
                in_parent.reset();
                if ((timed_out || stopped) && !reaped_elsewhere) kill_group();  // stragglers of a killed tree go too
                drain_until = now + kDrainWindow;
            } else if (stop.load()) {
                if (!stopped && !timed_out) kill_group();
                stopped = true;
            } else if (now >= deadline && !timed_out) {
                timed_out = true;
                kill_group();
            }
        } else if (now >= drain_until) {
            // Background children of the command may hold the pipes open; they are not waited for.
            out_parent.reset();
            err_parent.reset();
        }
    }
    out_log.flush();
    err_log.flush();
    int status = 0;
    if (reaped_elsewhere) {
        spdlog::warn("{}: exit status unknown (SIGCHLD is ignored in this process); counted as success", label);
    } else {
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }

    if (timed_out) {
        return fail(Errc::timeout, "timed out after " + std::to_string(timeout.count()) + " ms (process group killed)");
    }
    if (stopped) return fail(Errc::state, "stopped: the hook runner is shutting down (process group killed)");
    if (WIFSIGNALED(status)) return fail(Errc::io, "killed by signal " + std::to_string(WTERMSIG(status)));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        const int code = WEXITSTATUS(status);
        return fail(Errc::io,
                    "exited with status " + std::to_string(code) + (code == 127 ? " (command not found?)" : ""));
    }
    return {};
}

}  // namespace patchwave::orchestrator
