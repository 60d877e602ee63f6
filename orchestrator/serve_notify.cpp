#include "orchestrator/serve_notify.hpp"

#include <cerrno>
#include <cstring>

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace patchwave::orchestrator {
namespace {

constexpr std::size_t kMaxAnswer = 64 * 1024;

// Closes the descriptor on every return path.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// Waits until `fd` is ready for `events` or the deadline passes.
Status wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline, const std::string& path) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return fail(Errc::timeout, "patchwave serve did not answer on " + path + " in time");
        pollfd entry{fd, events, 0};
        const int ready = ::poll(&entry, 1, static_cast<int>(left.count()));
        if (ready > 0) return {};
        if (ready < 0 && errno != EINTR) return fail(Errc::io, path + ": " + std::strerror(errno));
    }
}

}  // namespace

std::filesystem::path serve_socket_path(const std::filesystem::path& home) {
    return home / "serve.sock";
}

Result<std::string> serve_request(const std::filesystem::path& home, const std::string& request,
                                  std::chrono::milliseconds timeout) {
    const std::string path = serve_socket_path(home).string();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        return fail(Errc::invalid_argument, "control socket path " + path + " is too long for a Unix socket");
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    Fd socket{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (socket.fd < 0) return fail(Errc::io, "cannot create a Unix socket: " + std::string(std::strerror(errno)));
    if (::connect(socket.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int err = errno;
        if (err == ENOENT || err == ECONNREFUSED) {
            return fail(Errc::not_found, "patchwave serve is not running (" + path + ": " + std::strerror(err) + ")");
        }
        return fail(Errc::io, "cannot connect to " + path + ": " + std::strerror(err));
    }
    const std::string line = request + "\n";
    for (std::size_t sent = 0; sent < line.size();) {
        if (auto ready = wait_for(socket.fd, POLLOUT, deadline, path); !ready) return std::unexpected(ready.error());
        const ssize_t n = ::send(socket.fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(Errc::io, "cannot write to " + path + ": " + std::strerror(errno));
        sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    for (;;) {
        if (auto newline = answer.find('\n'); newline != std::string::npos) return answer.substr(0, newline);
        if (answer.size() > kMaxAnswer) return fail(Errc::limit, path + ": answer longer than 64 KiB");
        if (auto ready = wait_for(socket.fd, POLLIN, deadline, path); !ready) return std::unexpected(ready.error());
        char buffer[4096];
        const ssize_t n = ::recv(socket.fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(Errc::io, "cannot read from " + path + ": " + std::strerror(errno));
        if (n == 0) return fail(Errc::io, path + ": patchwave serve closed the connection without an answer");
        answer.append(buffer, static_cast<std::size_t>(n));
    }
}

bool notify_serve(const std::filesystem::path& home) {
    auto answer = serve_request(home, R"({"command":"sync"})", std::chrono::seconds(3));
    if (answer) return true;
    if (answer.error().is(Errc::not_found)) {
        spdlog::info("stored; patchwave serve is not running, it publishes on start");
    } else {
        spdlog::warn("stored, but patchwave serve was not told ({}); it finds the change within 2 s",
                     answer.error().message());
    }
    return false;
}

}  // namespace patchwave::orchestrator
