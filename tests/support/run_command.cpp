#include "support/run_command.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace patchwave::testing {
namespace {

std::vector<std::string> environment_with(const std::map<std::string, std::string>& extra) {
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text = *entry;
        const auto name = text.substr(0, text.find('='));
        if (!extra.contains(name)) env.push_back(text);
    }
    for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
    return env;
}

// Forks and execs; the child's stdio goes to the given descriptors (-1: /dev/null).
int start(const std::vector<std::string>& argv, const CommandOptions& options, int in_fd, int out_fd, int err_fd) {
    std::vector<std::string> env = environment_with(options.env);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int null_fd = ::open("/dev/null", O_RDWR);
        ::dup2(in_fd >= 0 ? in_fd : null_fd, 0);
        ::dup2(out_fd >= 0 ? out_fd : null_fd, 1);
        ::dup2(err_fd >= 0 ? err_fd : null_fd, 2);
        ::setpgid(0, 0);
        ::execve(args[0], args.data(), envp.data());
        ::_exit(127);
    }
    return pid;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
        return {};
    }
    const int pid = start(argv, options, in_pipe[0], out_pipe[1], err_pipe[1]);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    // Small inputs only: written before reading, which a pipe buffer holds.
    if (!options.stdin_text.empty()) {
        (void)!::write(in_pipe[1], options.stdin_text.data(), options.stdin_text.size());
    }
    ::close(in_pipe[1]);

    CommandResult result;
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    char buffer[65536];
    while (open_fds > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            ::kill(-pid, SIGKILL);
            break;
        }
        if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
            const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            } else {
                (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
            }
        }
    }
    for (auto& fd : fds) {
        if (fd.fd >= 0) ::close(fd.fd);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    return result;
}

int spawn_command(const std::vector<std::string>& argv, const CommandOptions& options) {
    return start(argv, options, -1, -1, -1);
}

}  // namespace patchwave::testing
