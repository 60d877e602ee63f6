#include "common/child_setup.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

namespace patchwave {
namespace {

constexpr unsigned kCloseRangeCloexec = 1U << 2;  // CLOSE_RANGE_CLOEXEC (linux/close_range.h)
constexpr int kFallbackFdLimit = 4096;

}  // namespace

void child_reset_process_state() noexcept {
    ::setpgid(0, 0);
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &action, nullptr);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

int child_move_above_stdio(int fd) noexcept {
    return fd < 3 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 3) : fd;
}

void child_close_on_exec_from_3(int keep) noexcept {
    if (::syscall(SYS_close_range, 3U, ~0U, kCloseRangeCloexec) == 0) return;
    for (int fd = 3; fd < kFallbackFdLimit; ++fd) {
        if (fd != keep) ::close(fd);
    }
}

}  // namespace patchwave
