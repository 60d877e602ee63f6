// Child processes for the multi-process gossip test: each runs gossip_member with
// pipes on stdin and stdout; the test reads its event lines and kills it by pid.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/error.hpp"

namespace patchwave::net::gossip::testing {

/// One child process. Destroying it ends the child: stdin closed (the
/// member quits on EOF), then SIGKILL if it is still there after a grace period.
class MemberProcess {
public:
    static Result<std::unique_ptr<MemberProcess>> spawn(const std::vector<std::string>& argv);
    ~MemberProcess();
    MemberProcess(const MemberProcess&) = delete;
    MemberProcess& operator=(const MemberProcess&) = delete;

    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }
    int stdout_fd() const { return out_; }

    /// Writes one command line to the child's stdin (false when it is gone).
    bool send(const std::string& line);
    /// Appends the complete lines the child has written so far, without
    /// blocking. False once its stdout is closed.
    bool read_lines(std::vector<std::string>& lines);
    /// SIGKILL to this child's pid only, then reaps it.
    void kill_hard();
    /// Closes stdin and waits up to `grace` for the child to exit, then kills it.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

private:
    MemberProcess(pid_t pid, int in, int out) : pid_(pid), in_(in), out_(out) {}
    void close_fds();

    pid_t pid_ = -1;
    int in_ = -1;
    int out_ = -1;
    std::string partial_;
};

/// A line a member printed, with when the test read it.
struct MemberLine {
    std::size_t member = 0;
    std::string text;
    std::chrono::steady_clock::time_point at;
};

/// Waits up to `wait` for output from any of `processes` (nullptr entries
/// skipped) and hands every complete line to `on_line`.
void poll_lines(const std::vector<MemberProcess*>& processes, std::chrono::milliseconds wait,
                const std::function<void(const MemberLine&)>& on_line);

}  // namespace patchwave::net::gossip::testing
