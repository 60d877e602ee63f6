#include "agent/control_socket.hpp"

#include <sys/stat.h>

#include <optional>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace patchwave::agent {
namespace {

using stream_protocol = boost::asio::local::stream_protocol;

// One connection: read a line (bounded), answer, close.
struct Session : std::enable_shared_from_this<Session> {
    Session(stream_protocol::socket connection, ControlServer::Handler& serve)
        : socket(std::move(connection)), buffer(kMaxControlMessage), handler(serve) {}

    void start(std::weak_ptr<bool> alive) {
        auto self = shared_from_this();
        boost::asio::async_read_until(socket, buffer, '\n',
                                      [self, alive](boost::system::error_code error, std::size_t length) {
                                          if (error || alive.expired()) return;
                                          std::string line(boost::asio::buffers_begin(self->buffer.data()),
                                                           boost::asio::buffers_begin(self->buffer.data()) +
                                                               static_cast<std::ptrdiff_t>(length) - 1);
                                          self->answer = self->handler(line) + "\n";
                                          boost::asio::async_write(
                                              self->socket, boost::asio::buffer(self->answer),
                                              [self](boost::system::error_code, std::size_t) {
                                                  boost::system::error_code ignored;
                                                  self->socket.shutdown(stream_protocol::socket::shutdown_both, ignored);
                                              });
                                      });
    }

    stream_protocol::socket socket;
    boost::asio::streambuf buffer;
    ControlServer::Handler& handler;
    std::string answer;
};

}  // namespace

ControlServer::ControlServer(boost::asio::io_context& io, std::filesystem::path path, Handler handler)
    : acceptor_(io), path_(std::move(path)), handler_(std::move(handler)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::open(boost::asio::io_context& io, std::filesystem::path path,
                                                           Handler handler) {
    std::unique_ptr<ControlServer> server(new ControlServer(io, path, std::move(handler)));
    std::error_code removed;
    std::filesystem::remove(path, removed);
    boost::system::error_code error;
    // The umask decides the mode bind() gives the socket file: make it 0600
    // from the start, so there is no moment when others may connect.
    const mode_t old_mask = ::umask(0177);
    server->acceptor_.open(stream_protocol(), error);
    if (!error) server->acceptor_.bind(stream_protocol::endpoint(path.string()), error);
    ::umask(old_mask);
    if (!error) server->acceptor_.listen(16, error);
    if (error) return fail(Errc::io, "cannot listen on control socket " + path.string() + ": " + error.message());
    server->accept();
    return server;
}

ControlServer::~ControlServer() { close(); }

void ControlServer::close() {
    *alive_ = false;
    if (!acceptor_.is_open()) return;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    std::error_code removed;
    std::filesystem::remove(path_, removed);
}

void ControlServer::accept() {
    std::weak_ptr<bool> alive = alive_;
    acceptor_.async_accept([this, alive](boost::system::error_code error, stream_protocol::socket socket) {
        if (alive.expired() || !*alive.lock()) return;
        if (!error) std::make_shared<Session>(std::move(socket), handler_)->start(alive);
        accept();
    });
}

Result<std::string> control_request(const std::filesystem::path& path, const std::string& request,
                                    std::chrono::milliseconds timeout) {
    boost::asio::io_context io;
    stream_protocol::socket socket(io);
    boost::asio::streambuf buffer(kMaxControlMessage);
    std::string outgoing = request + "\n";
    std::optional<Error> failure;
    std::string answer;
    socket.async_connect(stream_protocol::endpoint(path.string()), [&](boost::system::error_code error) {
        if (error) {
            failure = Error(Errc::not_found, "no agent is running (control socket " + path.string() +
                                                 ": " + error.message() + ")");
            return;
        }
        boost::asio::async_write(socket, boost::asio::buffer(outgoing), [&](boost::system::error_code write_error,
                                                                            std::size_t) {
            if (write_error) {
                failure = Error(Errc::io, "control socket " + path.string() + ": " + write_error.message());
                return;
            }
            boost::asio::async_read_until(socket, buffer, '\n', [&](boost::system::error_code read_error,
                                                                    std::size_t length) {
                if (read_error) {
                    failure = Error(Errc::io, "control socket " + path.string() + ": " + read_error.message());
                    return;
                }
                answer.assign(boost::asio::buffers_begin(buffer.data()),
                              boost::asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(length) - 1);
            });
        });
    });
    io.run_for(timeout);
    if (failure) return fail(*failure);
    if (!io.stopped()) return fail(Errc::timeout, "the agent did not answer on " + path.string() + " in time");
    return answer;
}

}  // namespace patchwave::agent
