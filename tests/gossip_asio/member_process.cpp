#include "member_process.hpp"

#include <cerrno>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace patchwave::net::gossip::testing {

Result<std::unique_ptr<MemberProcess>> MemberProcess::spawn(const std::vector<std::string>& argv) {
    // A write to a child that was just killed must fail with EPIPE, not kill the test.
    ::signal(SIGPIPE, SIG_IGN);
    int in_pipe[2];
    int out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) return fail(Errc::io, std::string("pipe: ") + std::strerror(errno));
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        ::close(in_pipe[0]);
        ::close(in_pipe[1]);
        return fail(Errc::io, std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // The child gets default SIGPIPE handling back (ignored dispositions are inherited).
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int error = ::posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    if (error != 0) {
        ::close(in_pipe[1]);
        ::close(out_pipe[0]);
        return fail(Errc::io, "spawn " + argv[0] + ": " + std::strerror(error));
    }
    ::fcntl(out_pipe[0], F_SETFL, ::fcntl(out_pipe[0], F_GETFL) | O_NONBLOCK);
    return std::unique_ptr<MemberProcess>(new MemberProcess(pid, in_pipe[1], out_pipe[0]));
}

MemberProcess::~MemberProcess() {
    stop();
}

void MemberProcess::close_fds() {
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
    in_ = out_ = -1;
}

bool MemberProcess::send(const std::string& line) {
    if (in_ < 0) return false;
    std::string text = line + "\n";
    return ::write(in_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

bool MemberProcess::read_lines(std::vector<std::string>& lines) {
    if (out_ < 0) return false;
    char buffer[4096];
    // Bounded: a child cannot keep the test here by writing forever.
    for (int reads = 0; reads < 64; ++reads) {
        const ssize_t got = ::read(out_, buffer, sizeof buffer);
        if (got == 0) {
            // EOF: the child exited (or closed stdout); stop polling it.
            ::close(out_);
            out_ = -1;
            return false;
        }
        if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        partial_.append(buffer, static_cast<std::size_t>(got));
        for (auto end = partial_.find('\n'); end != std::string::npos; end = partial_.find('\n')) {
            lines.push_back(partial_.substr(0, end));
            partial_.erase(0, end + 1);
        }
    }
    return true;
}

void MemberProcess::kill_hard() {
    // Only ever a positive pid this object spawned: never a process group.
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    close_fds();
}

void MemberProcess::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0) {
        close_fds();
        return;
    }
    if (in_ >= 0) {
        ::close(in_);
        in_ = -1;
    }
    const auto end = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < end) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            close_fds();
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill_hard();
}

void poll_lines(const std::vector<MemberProcess*>& processes, std::chrono::milliseconds wait,
                const std::function<void(const MemberLine&)>& on_line) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> owners;
    for (std::size_t i = 0; i < processes.size(); ++i) {
        if (processes[i] == nullptr || processes[i]->stdout_fd() < 0) continue;
        fds.push_back(pollfd{processes[i]->stdout_fd(), POLLIN, 0});
        owners.push_back(i);
    }
    if (fds.empty()) {
        std::this_thread::sleep_for(wait);
        return;
    }
    if (::poll(fds.data(), fds.size(), static_cast<int>(wait.count())) <= 0) return;
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        std::vector<std::string> lines;
        processes[owners[k]]->read_lines(lines);
        for (auto& line : lines)
            on_line(MemberLine{owners[k], std::move(line), now});
    }
}

}  // namespace patchwave::net::gossip::testing
