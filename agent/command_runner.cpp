#include "agent/command_runner.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child_setup.hpp"
#include "common/timestamp.hpp"
#include "common/unique_fd.hpp"

namespace patchwave::agent {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kCancelCheck{100};
// Without a pidfd (kernels before 5.3) the leader's exit is noticed by polling this often.
constexpr milliseconds kExitCheckFallback{50};
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string errno_text(int err) {
    return std::strerror(err);
}

void write_all(int fd, std::string_view text, bool& failed) {
    while (!failed && !text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            failed = true;  // documented: log write errors do not stop the command
            return;
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string format_ms(milliseconds ms) {
    if (ms.count() > 0 && ms.count() % 1000 == 0) return format_duration(std::chrono::duration_cast<Duration>(ms));
    return std::to_string(ms.count()) + "ms";
}

std::string format_elapsed(milliseconds ms) {
    const auto count = ms.count();
    std::string fraction = std::to_string(count % 1000);
    fraction.insert(0, 3 - fraction.size(), '0');
    return std::to_string(count / 1000) + "." + fraction + "s";
}

enum class Probe { running, exited, gone };

// The child's status as waitid reports it, without reaping (WNOWAIT): the zombie keeps the pid, and so
// the process group id, reserved until we reap, so a later kill(-pgid) cannot reach a stranger's group.
// `gone` when someone else reaped it (a SIGCHLD handler elsewhere in the process).
Probe probe_leader(pid_t pid, siginfo_t& info) {
    std::memset(&info, 0, sizeof info);
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
        if (errno != EINTR) return errno == ECHILD ? Probe::gone : Probe::running;
    }
    return info.si_pid == pid ? Probe::exited : Probe::running;
}

// The last kTailMaxBytes of output, trimmed to kTailMaxLines lines and made JSON-safe.
std::string make_tail(const std::string& raw) {
    std::string_view view = raw;
    if (view.size() > kTailMaxBytes) view = view.substr(view.size() - kTailMaxBytes);
    std::string text;
    text.reserve(view.size());
    for (std::size_t i = 0; i < view.size();) {
        const auto byte = static_cast<unsigned char>(view[i]);
        if (byte < 0x80) {
            if (byte == '\r') {
                // "\r\n" is a line end; a lone '\r' (progress bars) ends a line too
                if (i + 1 >= view.size() || view[i + 1] != '\n') text.push_back('\n');
            } else if (byte == '\n' || byte == '\t' || (byte >= 0x20 && byte != 0x7f)) {
                text.push_back(static_cast<char>(byte));
            } else {
                text.push_back('?');
            }
            ++i;
            continue;
        }
        // A whole, minimal, non-surrogate UTF-8 sequence is kept; any other byte becomes '?'.
        std::size_t length = 0;
        std::uint32_t code = 0;
        if ((byte & 0xe0) == 0xc0)
            length = 2, code = byte & 0x1f;
        else if ((byte & 0xf0) == 0xe0)
            length = 3, code = byte & 0x0f;
        else if ((byte & 0xf8) == 0xf0)
            length = 4, code = byte & 0x07;
        bool valid = length != 0 && i + length <= view.size();
        for (std::size_t k = 1; valid && k < length; ++k) {
            const auto next = static_cast<unsigned char>(view[i + k]);
            valid = (next & 0xc0) == 0x80;
            code = (code << 6) | (next & 0x3f);
        }
        if (valid) {
            static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
            valid = code >= kMinimum[length] && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
        }
        if (valid) {
            text.append(view.substr(i, length));
            i += length;
        } else {
            text.push_back('?');
            ++i;
        }
    }
    // Keep the last kTailMaxLines lines (a final newline does not start another line).
    std::size_t lines = 0;
    std::size_t end = text.size();
    if (end > 0 && text[end - 1] == '\n') --end;
    for (std::size_t pos = end; pos > 0; --pos) {
        if (text[pos - 1] == '\n' && ++lines == kTailMaxLines) return text.substr(pos);
    }
    return text;
}

Status validate(const CommandRequest& request) {
    if (request.command.command.find('\0') != std::string::npos) {
        return fail(Errc::invalid_argument, request.step + " command contains a NUL character");
    }
    for (const auto& [name, value] : request.environment) {
        if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
            return fail(Errc::invalid_argument,
                        request.step + " environment name \"" + name + "\" is empty or contains '=' or NUL");
        }
        if (value.find('\0') != std::string::npos) {
            return fail(Errc::invalid_argument, request.step + " environment value of " + name + " contains NUL");
        }
    }
    return {};
}

std::vector<std::string> build_environment(const CommandRequest& request) {
    std::map<std::string, std::string> env;
    env["PATH"] = kDefaultPath;
    const char* home = std::getenv("HOME");
    env["HOME"] = home != nullptr && *home != '\0' ? home : "/root";
    env["LANG"] = "C";
    for (const auto& [name, value] : request.environment)
        env[name] = value;
    std::vector<std::string> entries;
    entries.reserve(env.size());
    for (const auto& [name, value] : env)
        entries.push_back(name + "=" + value);
    return entries;
}

// What the child reports through the exec-status pipe when it cannot exec.
struct ChildFailure {
    int stage;  // 0 setup, 1 chdir, 2 exec, 3 confinement
    int error;
    char detail[96];  // the confinement step that failed
};

// Runs in the forked child: async-signal-safe calls only, no allocation. Never returns.
[[noreturn]] void exec_child(int stdin_fd, int output_fd, int status_fd, const char* directory, char* const argv[],
                             char* const envp[], const PreparedConfinement* confinement) {
    auto report = [status_fd](int stage, const char* detail = "") {
        ChildFailure failure{stage, errno, {}};
        for (std::size_t i = 0; i + 1 < sizeof failure.detail && detail[i] != '\0'; ++i)
            failure.detail[i] = detail[i];
        [[maybe_unused]] const ssize_t ignored = ::write(status_fd, &failure, sizeof failure);
        ::_exit(127);
    };
    child_reset_process_state();
    if ((stdin_fd = child_move_above_stdio(stdin_fd)) < 0 || (output_fd = child_move_above_stdio(output_fd)) < 0) {
        report(0);
    }
    if (::dup2(stdin_fd, 0) < 0 || ::dup2(output_fd, 1) < 0 || ::dup2(output_fd, 2) < 0) report(0);
    // Confined before the chdir: the working directory is then looked up in
    // the new mount namespace, as one of its writable copies.
    if (confinement != nullptr) {
        const char* stage = "";
        if (const int error = apply_confinement(*confinement, &stage); error != 0) {
            errno = error;
            report(3, stage);
        }
    }
    if (::chdir(directory) < 0) report(1);
    // Marked close-on-exec rather than closed: the status pipe stays open until exec succeeds.
    child_close_on_exec_from_3(status_fd);
    ::execve("/bin/sh", argv, envp);
    report(2);
    ::_exit(127);
}

// Waits for the command, feeding its output to the log and the tail, enforcing timeout and cancel.
class Supervisor {
public:
    /// Takes ownership of `output_fd`.
    Supervisor(const CommandRequest& request, pid_t pid, int output_fd, int log_fd, const std::atomic<bool>* cancel,
               milliseconds timeout)
        : request_(request), pid_(pid), output_(output_fd), log_fd_(log_fd), cancel_(cancel), timeout_(timeout) {
        pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
        start_ = Clock::now();
        if (timeout_ > milliseconds::zero()) deadline_ = start_ + timeout_;
    }

    CommandOutcome run() {
        while (!finished())
            step();
        // After a timeout or cancel the whole tree goes, stragglers included; the leader is still a zombie,
        // so the group id is still ours.
        if (killed_) kill_group(SIGKILL);
        reap();
        return outcome();
    }

    // Kills and reaps the child when anything goes wrong before run() finished.
    ~Supervisor() {
        if (!reaped_) {
            kill_group(SIGKILL);
            reap();
        }
    }

    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    bool log_failed() const { return log_failed_; }

private:
    bool finished() const {
        if (!exited_) return false;
        return !output_ || Clock::now() >= drain_until_;
    }

    void step() {
        const auto now = Clock::now();
        if (!exited_) {
            if (cancel_ != nullptr && cancel_->load() && !cancelled_) {
                cancelled_ = true;
                killed_ = true;
                kill_group(SIGKILL);
            } else if (deadline_ && !terminating_ && now >= *deadline_) {
                timed_out_ = true;
                killed_ = true;
                terminating_ = true;
                kill_group(SIGTERM);
                grace_until_ = now + request_.kill_grace;
            } else if (terminating_ && !escalated_ && now >= grace_until_) {
                escalated_ = true;
                kill_group(SIGKILL);
            }
        }

        pollfd fds[2]{};
        nfds_t count = 0;
        int output_index = -1;
        int pid_index = -1;
        if (output_) {
            output_index = static_cast<int>(count);
            fds[count++] = {output_.get(), POLLIN, 0};
        }
        if (!exited_ && pidfd_) {
            pid_index = static_cast<int>(count);
            fds[count++] = {pidfd_.get(), POLLIN, 0};
        }
        const int wait_ms = static_cast<int>(next_wake(now).count());
        const int ready = ::poll(fds, count, wait_ms);
        if (ready < 0 && errno != EINTR) {
            // poll itself failed (ENOMEM): stop reading and fall back to checking the leader every 50 ms.
            output_.reset();
            pidfd_.reset();
        }
        if (ready > 0 && output_index >= 0 && (fds[output_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            read_output();
        }
        const bool pid_ready = pid_index >= 0 && (fds[pid_index].revents & POLLIN) != 0;
        if (!exited_ && (pid_ready || !pidfd_)) {
            siginfo_t info;
            switch (probe_leader(pid_, info)) {
                case Probe::running:
                    break;
                case Probe::exited:
                    on_leader_exit(info);
                    break;
                case Probe::gone:
                    // Reaped elsewhere: the status is lost and the group id may be reused, so no more signals.
                    reaped_ = true;
                    on_leader_exit(info);
                    exit_code_ = -1;
                    signal_ = 0;
                    break;
            }
        }
    }

    milliseconds next_wake(Clock::time_point now) const {
        milliseconds wait = milliseconds::max();
        auto until = [&](Clock::time_point point) {
            const auto left = std::chrono::ceil<milliseconds>(point - now);
            wait = std::min(wait, std::max(left, milliseconds::zero()));
        };
        if (exited_) {
            until(drain_until_);
        } else {
            if (cancel_ != nullptr && !cancelled_) wait = std::min(wait, kCancelCheck);
            if (!pidfd_) wait = std::min(wait, kExitCheckFallback);
            if (deadline_ && !terminating_) until(*deadline_);
            if (terminating_ && !escalated_) until(grace_until_);
        }
        if (wait == milliseconds::max()) return milliseconds{-1};
        return std::min(wait, milliseconds{60'000});
    }

    void read_output() {
        char buffer[16 * 1024];
        for (;;) {
            const ssize_t n = ::read(output_.get(), buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            if (n <= 0) {
                output_.reset();  // EOF: every writer is gone
                return;
            }
            const std::string_view chunk(buffer, static_cast<std::size_t>(n));
            write_all(log_fd_, chunk, log_failed_);
            raw_tail_.append(chunk);
            if (raw_tail_.size() > 2 * kTailMaxBytes) raw_tail_.erase(0, raw_tail_.size() - kTailMaxBytes);
        }
    }

    void on_leader_exit(const siginfo_t& info) {
        exited_ = true;
        ended_ = Clock::now();
        if (info.si_code == CLD_EXITED) {
            exit_code_ = info.si_status;
        } else {
            signal_ = info.si_status;
        }
        if (killed_) kill_group(SIGKILL);  // a timed-out or cancelled tree goes now, not after the grace
        drain_until_ = ended_ + kDrainWindow;
    }

    void kill_group(int sig) const {
        // pid_ > 0 is our child, leader of the group it created (setpgid in both parent and child), and
        // not yet reaped, so -pid_ is a group we made.
        if (pid_ > 0 && !reaped_) ::kill(-pid_, sig);
    }

    void reap() {
        if (reaped_) return;
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
    }

    CommandOutcome outcome() const {
        CommandOutcome result;
        result.timeout = timeout_;
        result.duration = std::chrono::duration_cast<milliseconds>((exited_ ? ended_ : Clock::now()) - start_);
        result.tail = make_tail(raw_tail_);
        if (cancelled_) {
            result.cancelled = true;
            result.signal = SIGKILL;
        } else if (timed_out_) {
            result.timed_out = true;
        } else {
            result.exit_code = exit_code_;
            result.signal = signal_;
        }
        return result;
    }

    const CommandRequest& request_;
    pid_t pid_;
    UniqueFd output_;
    int log_fd_;
    const std::atomic<bool>* cancel_;
    milliseconds timeout_;
    UniqueFd pidfd_;
    Clock::time_point start_;
    Clock::time_point ended_;
    std::optional<Clock::time_point> deadline_;
    Clock::time_point grace_until_;
    Clock::time_point drain_until_;
    bool exited_ = false;
    bool reaped_ = false;
    bool terminating_ = false;
    bool escalated_ = false;
    bool timed_out_ = false;
    bool cancelled_ = false;
    bool killed_ = false;
    bool log_failed_ = false;
    int exit_code_ = -1;
    int signal_ = 0;
    std::string raw_tail_;
};

std::string footer(const CommandRequest& request, const CommandOutcome& outcome) {
    std::string how;
    if (outcome.cancelled) {
        how = "cancelled (killed by signal " + std::to_string(outcome.signal) + ")";
    } else if (outcome.timed_out) {
        how = "timed out after " + format_ms(outcome.timeout);
    } else if (outcome.signal != 0) {
        how = "killed by signal " + std::to_string(outcome.signal);
    } else {
        how = "exit code " + std::to_string(outcome.exit_code);
    }
    return "\n" + format_timestamp(std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()))
           + " patchwave: " + request.step + " ended: " + how + " after " + format_elapsed(outcome.duration) + "\n";
}

}  // namespace

bool CommandOutcome::succeeded() const {
    return exit_code == 0 && signal == 0 && !timed_out && !cancelled;
}

std::string CommandOutcome::describe() const {
    std::string text;
    if (cancelled) {
        text = "cancelled (killed by signal " + std::to_string(signal) + ")";
    } else if (timed_out) {
        text = "timed out after " + format_ms(timeout);
    } else if (signal != 0) {
        text = "killed by signal " + std::to_string(signal);
    } else {
        text = "exit code " + std::to_string(exit_code);
    }
    std::string_view rest = tail;
    while (!rest.empty()) {
        const auto end = rest.find_last_not_of(" \t\n");
        if (end == std::string_view::npos) break;
        rest = rest.substr(0, end + 1);
        const auto start = rest.find_last_of('\n');
        const auto line = start == std::string_view::npos ? rest : rest.substr(start + 1);
        const auto first = line.find_first_not_of(" \t");
        if (first != std::string_view::npos) {
            text += ": ";
            text += line.substr(first);
            break;
        }
        rest = start == std::string_view::npos ? std::string_view{} : rest.substr(0, start);
    }
    return text;
}

Result<CommandOutcome> run_command(const CommandRequest& request, const std::atomic<bool>* cancel) {
    if (auto valid = validate(request); !valid) return std::unexpected(std::move(valid.error()));
    const std::string context = "running " + request.step + " command";

    std::error_code ec;
    if (!std::filesystem::is_directory(request.working_directory, ec)) {
        return fail(Errc::io,
                    context + ": working directory " + request.working_directory.string()
                        + (ec ? " cannot be read: " + ec.message() : " does not exist or is not a directory"));
    }
    UniqueFd log(::open(request.log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640));
    if (!log)
        return fail(Errc::io,
                    context + ": cannot open log file " + request.log_file.string() + ": " + errno_text(errno));
    UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!dev_null) return fail(Errc::io, context + ": cannot open /dev/null: " + errno_text(errno));

    int output_pipe[2];
    if (::pipe2(output_pipe, O_CLOEXEC) < 0) return fail(Errc::io, context + ": pipe: " + errno_text(errno));
    UniqueFd output_read(output_pipe[0]);
    UniqueFd output_write(output_pipe[1]);
    int status_pipe[2];
    if (::pipe2(status_pipe, O_CLOEXEC) < 0) return fail(Errc::io, context + ": pipe: " + errno_text(errno));
    UniqueFd status_read(status_pipe[0]);
    UniqueFd status_write(status_pipe[1]);

    milliseconds timeout =
        request.timeout_override.value_or(std::chrono::duration_cast<milliseconds>(request.command.timeout));
    if (timeout < milliseconds::zero()) timeout = milliseconds::zero();

    // Everything the child needs is built before fork: it may not allocate.
    std::string shell = "sh";
    std::string dash_c = "-c";
    std::string command = request.command.command;
    std::vector<char*> argv{shell.data(), dash_c.data(), command.data(), nullptr};
    std::vector<std::string> env_entries = build_environment(request);
    std::vector<char*> envp;
    envp.reserve(env_entries.size() + 1);
    for (auto& entry : env_entries)
        envp.push_back(entry.data());
    envp.push_back(nullptr);
    const std::string directory = request.working_directory.string();
    std::unique_ptr<PreparedConfinement> confinement;
    if (request.confinement) {
        auto prepared = prepare_confinement(*request.confinement);
        if (!prepared) return std::unexpected(prepared.error().with_context(context));
        confinement = std::move(*prepared);
    }

    bool log_failed = false;
    write_all(log.get(),
              format_timestamp(std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()))
                  + " patchwave: " + request.step + ": running `" + request.command.command + "` in " + directory
                  + (timeout > milliseconds::zero() ? " (timeout " + format_ms(timeout) + ")" : "") + "\n",
              log_failed);
    if (log_failed) {
        return fail(Errc::io,
                    context + ": cannot write log file " + request.log_file.string() + ": " + errno_text(errno));
    }

    if (cancel != nullptr && cancel->load()) {
        CommandOutcome outcome;
        outcome.cancelled = true;
        outcome.signal = SIGKILL;
        outcome.timeout = timeout;
        write_all(log.get(), footer(request, outcome), log_failed);
        return outcome;
    }
    const pid_t pid = ::fork();
    if (pid < 0) return fail(Errc::io, context + ": fork: " + errno_text(errno));
    if (pid == 0) {
        exec_child(dev_null.get(), output_write.get(), status_write.get(), directory.c_str(), argv.data(), envp.data(),
                   confinement.get());
    }
    // Also from the parent, so the group exists before we might signal it.
    ::setpgid(pid, pid);
    output_write.reset();
    status_write.reset();
    dev_null.reset();

    ChildFailure failure{};
    ssize_t got;
    while ((got = ::read(status_read.get(), &failure, sizeof failure)) < 0 && errno == EINTR) {
    }
    if (got > 0) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        failure.detail[sizeof failure.detail - 1] = '\0';
        std::string what = failure.stage == 1   ? "cannot change into " + directory
                           : failure.stage == 2 ? std::string("cannot execute /bin/sh")
                           : failure.stage == 3 ? std::string("cannot confine the command (") + failure.detail + ")"
                                                : std::string("cannot set up the command's descriptors");
        return fail(Errc::io, context + ": " + what + ": " + errno_text(failure.error));
    }
    status_read.reset();

    const int flags = ::fcntl(output_read.get(), F_GETFL);
    ::fcntl(output_read.get(), F_SETFL, flags | O_NONBLOCK);
    Supervisor supervisor(request, pid, output_read.release(), log.get(), cancel, timeout);
    CommandOutcome outcome = supervisor.run();
    bool footer_failed = supervisor.log_failed();
    write_all(log.get(), footer(request, outcome), footer_failed);
    return outcome;
}

}  // namespace patchwave::agent
