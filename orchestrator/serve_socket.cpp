#include "orchestrator/serve_socket.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <sys/stat.h>

namespace patchwave::orchestrator {
namespace {

using stream_protocol = boost::asio::local::stream_protocol;
constexpr std::size_t kMaxRequest = 64 * 1024;

// One connection: read a line (bounded in size and time), answer, close.
struct Session : std::enable_shared_from_this<Session> {
    Session(stream_protocol::socket connection, ServeSocket::Handler& serve)
        : socket(std::move(connection)), buffer(kMaxRequest), timer(socket.get_executor()), handler(serve) {}

    void start(std::weak_ptr<bool> alive) {
        auto self = shared_from_this();
        // A client that connects and says nothing must not hold the socket open forever.
        timer.expires_after(std::chrono::seconds(5));
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
    ServeSocket::Handler& handler;
    std::string answer;
};

}  // namespace

ServeSocket::ServeSocket(boost::asio::io_context& io, std::filesystem::path path, Handler handler)
    : acceptor_(io), path_(std::move(path)), handler_(std::move(handler)) {}

Result<std::unique_ptr<ServeSocket>> ServeSocket::open(boost::asio::io_context& io, std::filesystem::path path,
                                                       Handler handler) {
    std::unique_ptr<ServeSocket> server(new ServeSocket(io, path, std::move(handler)));
    std::error_code removed;
    std::filesystem::remove(path, removed);
    boost::system::error_code error;
    // bind() creates the file with the umask's mode: 0600 from the start, so
    // there is no moment when other users may connect.
    const mode_t old_mask = ::umask(0177);
    server->acceptor_.open(stream_protocol(), error);
    if (!error) server->acceptor_.bind(stream_protocol::endpoint(path.string()), error);
    ::umask(old_mask);
    if (!error) server->acceptor_.listen(16, error);
    if (error) return fail(Errc::io, "cannot listen on control socket " + path.string() + ": " + error.message());
    server->accept();
    return server;
}

ServeSocket::~ServeSocket() {
    close();
}

void ServeSocket::close() {
    *alive_ = false;
    if (!acceptor_.is_open()) return;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    std::error_code removed;
    std::filesystem::remove(path_, removed);
}

void ServeSocket::accept() {
    std::weak_ptr<bool> alive = alive_;
    acceptor_.async_accept([this, alive](boost::system::error_code error, stream_protocol::socket socket) {
        if (alive.expired() || !*alive.lock()) return;
        if (!error) std::make_shared<Session>(std::move(socket), handler_)->start(alive);
        accept();
    });
}

}  // namespace patchwave::orchestrator
