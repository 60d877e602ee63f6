#include "net/line_socket.hpp"

#include <cerrno>
#include <cstring>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/unique_fd.hpp"

namespace patchwave::net {
namespace {

using boost::asio::local::stream_protocol;

// A client that connects and says nothing must not hold a session open forever.
constexpr std::chrono::seconds kIdleTimeout{5};

// One connection: read a line (bounded in size and time), answer, close.
struct Session : std::enable_shared_from_this<Session> {
    Session(stream_protocol::socket connection, LineSocketServer::Handler& serve)
        : socket(std::move(connection)), buffer(kMaxLineMessage), timer(socket.get_executor()), handler(serve) {}

    void start(std::weak_ptr<bool> alive) {
        auto self = shared_from_this();
        timer.expires_after(kIdleTimeout);
        timer.async_wait([self](boost::system::error_code error) {
            if (error) return;
            boost::system::error_code ignored;
            self->socket.close(ignored);
        });
        boost::asio::async_read_until(
            socket, buffer, '\n', [self, alive](boost::system::error_code error, std::size_t length) {
                self->timer.cancel();
                if (error || alive.expired() || !*alive.lock()) return;
                std::string line(
                    boost::asio::buffers_begin(self->buffer.data()),
                    boost::asio::buffers_begin(self->buffer.data()) + static_cast<std::ptrdiff_t>(length) - 1);
                self->answer = self->handler(line) + "\n";
                boost::asio::async_write(self->socket, boost::asio::buffer(self->answer),
                                         [self](boost::system::error_code, std::size_t) {
                                             boost::system::error_code ignored;
                                             self->socket.shutdown(stream_protocol::socket::shutdown_both, ignored);
                                         });
            });
    }

    stream_protocol::socket socket;
    boost::asio::streambuf buffer;
    boost::asio::steady_timer timer;
    LineSocketServer::Handler& handler;
    std::string answer;
};

// Waits until `fd` is ready for `events` or the deadline passes.
Status wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline, const std::string& path) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return fail(Errc::timeout, "no answer on " + path + " in time");
        pollfd entry{fd, events, 0};
        const int ready = ::poll(&entry, 1, static_cast<int>(left.count()));
        if (ready > 0) return {};
        if (ready < 0 && errno != EINTR) return fail(Errc::io, path + ": " + std::strerror(errno));
    }
}

}  // namespace

LineSocketServer::LineSocketServer(boost::asio::io_context& io, std::filesystem::path path, Handler handler)
    : acceptor_(io), path_(std::move(path)), handler_(std::move(handler)) {}

Result<std::unique_ptr<LineSocketServer>> LineSocketServer::open(boost::asio::io_context& io,
                                                                 std::filesystem::path path, Handler handler) {
    std::unique_ptr<LineSocketServer> server(new LineSocketServer(io, path, std::move(handler)));
    std::error_code removed;
    std::filesystem::remove(path, removed);
    boost::system::error_code error;
    // The umask decides the mode bind() gives the socket file: 0600 from the
    // start, so there is no moment when others may connect.
    const mode_t old_mask = ::umask(0177);
    server->acceptor_.open(stream_protocol(), error);
    if (!error) server->acceptor_.bind(stream_protocol::endpoint(path.string()), error);
    ::umask(old_mask);
    if (!error) server->acceptor_.listen(16, error);
    if (error) return fail(Errc::io, "cannot listen on control socket " + path.string() + ": " + error.message());
    server->accept();
    return server;
}

LineSocketServer::~LineSocketServer() { close(); }

void LineSocketServer::close() {
    *alive_ = false;
    if (!acceptor_.is_open()) return;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    std::error_code removed;
    std::filesystem::remove(path_, removed);
}

void LineSocketServer::accept() {
    std::weak_ptr<bool> alive = alive_;
    acceptor_.async_accept([this, alive](boost::system::error_code error, stream_protocol::socket socket) {
        if (alive.expired() || !*alive.lock()) return;
        if (!error) std::make_shared<Session>(std::move(socket), handler_)->start(alive);
        accept();
    });
}

Result<std::string> line_socket_request(const std::filesystem::path& socket_path, const std::string& request,
                                        std::chrono::milliseconds timeout) {
    const std::string path = socket_path.string();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        return fail(Errc::invalid_argument, "control socket path " + path + " is too long for a Unix socket");
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (socket.get() < 0) return fail(Errc::io, "cannot create a Unix socket: " + std::string(std::strerror(errno)));
    if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int err = errno;
        if (err == ENOENT || err == ECONNREFUSED) return fail(Errc::not_found, path + ": " + std::strerror(err));
        return fail(Errc::io, "cannot connect to " + path + ": " + std::strerror(err));
    }
    const std::string line = request + "\n";
    for (std::size_t sent = 0; sent < line.size();) {
        if (auto ready = wait_for(socket.get(), POLLOUT, deadline, path); !ready) return std::unexpected(ready.error());
        const ssize_t n = ::send(socket.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(Errc::io, "cannot write to " + path + ": " + std::strerror(errno));
        sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    for (;;) {
        if (auto newline = answer.find('\n'); newline != std::string::npos) return answer.substr(0, newline);
        if (answer.size() > kMaxLineMessage) return fail(Errc::limit, path + ": answer longer than 256 KiB");
        if (auto ready = wait_for(socket.get(), POLLIN, deadline, path); !ready) return std::unexpected(ready.error());
        char buffer[4096];
        const ssize_t n = ::recv(socket.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(Errc::io, "cannot read from " + path + ": " + std::strerror(errno));
        if (n == 0) return fail(Errc::io, path + ": the daemon closed the connection without an answer");
        answer.append(buffer, static_cast<std::size_t>(n));
    }
}

}  // namespace patchwave::net
