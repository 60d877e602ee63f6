#include <catch2/catch.hpp>
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <regex>
#include <spdlog/spdlog.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_io.hpp"
#include "common/logging.hpp"
#include "support/temp_dir.hpp"

using namespace patchwave;

namespace {

// Sets (or, with nullopt, unsets) an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) {
            ::setenv(name, value->c_str(), 1);
        } else {
            ::unsetenv(name);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

// Points descriptor 2 at `fd` for one scope, restoring the real stderr after.
class ScopedStderr {
public:
    explicit ScopedStderr(int fd) : saved_(::dup(STDERR_FILENO)) {
        std::fflush(stderr);
        ::dup2(fd, STDERR_FILENO);
    }
    ScopedStderr(const ScopedStderr&) = delete;
    ScopedStderr& operator=(const ScopedStderr&) = delete;
    ~ScopedStderr() {
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
    }

private:
    int saved_;
};

std::string device_and_inode(int fd) {
    struct stat info {};
    REQUIRE(::fstat(fd, &info) == 0);
    return std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
}

// A file descriptor closed at the end of the scope.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// Logs one line per level through setup_logging with stderr on `path`, and
// returns what reached the file.
std::string log_to_file(const std::filesystem::path& path, bool journal) {
    Fd file{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    REQUIRE(file.fd >= 0);
    ScopedEnv stream("JOURNAL_STREAM", journal ? std::optional(device_and_inode(file.fd)) : std::nullopt);
    {
        ScopedStderr redirect(file.fd);
        REQUIRE(setup_logging("logging_test", "debug"));
        spdlog::debug("checking {}", "disk");
        spdlog::info("joined the fleet");
        spdlog::warn("seed unreachable");
        spdlog::error("install failed");
        spdlog::default_logger()->flush();
    }
    REQUIRE(setup_logging("logging_test", "off"));
    return read_file(path, 1 << 16).value();
}

}  // namespace

TEST_CASE("a file or a pipe on stderr gets plain lines", "[common][logging]") {
    // Neither a terminal nor named by JOURNAL_STREAM: plain.
    testing::TempDir dir;
    Fd file{::open((dir / "log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)};
    REQUIRE(file.fd >= 0);
    CHECK(detect_log_target(file.fd, nullptr) == LogTarget::plain);
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    Fd read_end{pipe_fds[0]};
    Fd write_end{pipe_fds[1]};
    CHECK(detect_log_target(write_end.fd, nullptr) == LogTarget::plain);
    CHECK(detect_log_target(write_end.fd, "") == LogTarget::plain);
}

TEST_CASE("JOURNAL_STREAM counts only when it names this descriptor", "[common][logging]") {
    // systemd sets it to the stream's device and inode; a child whose stderr
    // went elsewhere inherits the variable and must not believe it.
    testing::TempDir dir;
    Fd journal{::open((dir / "journal").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)};
    Fd other{::open((dir / "other").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)};
    REQUIRE(journal.fd >= 0);
    REQUIRE(other.fd >= 0);
    const std::string names_journal = device_and_inode(journal.fd);
    CHECK(detect_log_target(journal.fd, names_journal.c_str()) == LogTarget::journal);
    CHECK(detect_log_target(other.fd, names_journal.c_str()) == LogTarget::plain);
    CHECK(detect_log_target(journal.fd, "0:0") == LogTarget::plain);
    CHECK(detect_log_target(journal.fd, "garbage") == LogTarget::plain);
    CHECK(detect_log_target(journal.fd, (names_journal + "0").c_str()) == LogTarget::plain);
}

TEST_CASE("only the terminal pattern has colour ranges", "[common][logging]") {
    // The colour sink is used for terminals only; the other patterns must not
    // ask for colours either.
    CHECK(log_pattern(LogTarget::terminal).find("%^") != std::string_view::npos);
    CHECK(log_pattern(LogTarget::journal).find("%^") == std::string_view::npos);
    CHECK(log_pattern(LogTarget::plain).find("%^") == std::string_view::npos);
}

TEST_CASE("logs to a file are timestamped lines without escape codes", "[common][logging]") {
    testing::TempDir dir;
    const std::string text = log_to_file(dir / "log", false);
    CHECK(text.find('\x1b') == std::string::npos);
    const std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (debug|info|warning|error) [a-z ]+\n)");
    std::size_t lines = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it) ++lines;
    CHECK(lines == 4);
    CHECK(text.find(" info joined the fleet\n") != std::string::npos);
    CHECK(text.find(" warning seed unreachable\n") != std::string::npos);
}

TEST_CASE("logs to journald carry the syslog priority and no timestamp", "[common][logging]") {
    // journald turns "<N>" into the entry's priority and stamps the time itself.
    testing::TempDir dir;
    const std::string text = log_to_file(dir / "log", true);
    CHECK(text == "<7>debug checking disk\n"
                  "<6>info joined the fleet\n"
                  "<4>warning seed unreachable\n"
                  "<3>error install failed\n");
}

TEST_CASE("logs to a terminal are coloured", "[common][logging]") {
    // The colour sink only where escape codes are displayed.
    Fd master{::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)};
    REQUIRE(master.fd >= 0);
    REQUIRE(::grantpt(master.fd) == 0);
    REQUIRE(::unlockpt(master.fd) == 0);
    const char* name = ::ptsname(master.fd);
    REQUIRE(name != nullptr);
    Fd terminal{::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)};
    REQUIRE(terminal.fd >= 0);
    CHECK(detect_log_target(terminal.fd, nullptr) == LogTarget::terminal);
    {
        ScopedEnv stream("JOURNAL_STREAM", std::nullopt);
        // spdlog also wants a colour-capable TERM (CI runs without one).
        ScopedEnv term("TERM", "xterm-256color");
        ScopedStderr redirect(terminal.fd);
        REQUIRE(setup_logging("logging_test", "info"));
        spdlog::warn("seed unreachable");
        spdlog::default_logger()->flush();
    }
    REQUIRE(setup_logging("logging_test", "off"));
    // Read what the terminal shows, for at most 2 s.
    std::string shown;
    for (int round = 0; round < 20 && shown.find('\n') == std::string::npos; ++round) {
        pollfd ready{master.fd, POLLIN, 0};
        if (::poll(&ready, 1, 100) <= 0) continue;
        char buffer[512];
        const ssize_t got = ::read(master.fd, buffer, sizeof buffer);
        if (got > 0) shown.append(buffer, static_cast<std::size_t>(got));
    }
    CHECK(shown.find("seed unreachable") != std::string::npos);
    CHECK(shown.find("\x1b[") != std::string::npos);
}
