// A local control channel over a Unix socket: one line of JSON in, one line
// out, then the connection closes. The agent's and serve's control sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "common/error.hpp"

namespace patchwave::net {

/// Requests and answers are bounded both ways.
inline constexpr std::size_t kMaxLineMessage = 256 * 1024;

/// Serves requests on the daemon's event loop. The socket file is mode 0600
/// from the moment it exists: whoever can connect can steer the daemon.
class LineSocketServer {
public:
    using Handler = std::function<std::string(const std::string& request)>;

    /// Binds `path`, replacing a stale socket left by a crashed daemon (the
    /// caller holds the daemon's lock, so no live daemon owns it).
    /// Errc::io naming the path otherwise.
    static Result<std::unique_ptr<LineSocketServer>> open(boost::asio::io_context& io, std::filesystem::path path,
                                                          Handler handler);
    ~LineSocketServer();
    LineSocketServer(const LineSocketServer&) = delete;
    LineSocketServer& operator=(const LineSocketServer&) = delete;
    /// Stops accepting and removes the socket file. Idempotent.
    void close();

private:
    LineSocketServer(boost::asio::io_context& io, std::filesystem::path path, Handler handler);
    void accept();

    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::filesystem::path path_;
    Handler handler_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// Client side, blocking: sends one request line and reads the answer line
/// within `timeout`. Errc::not_found when nothing listens on `path` (no
/// socket file, or connection refused), Errc::timeout when no answer came in
/// time, Errc::limit for an answer over kMaxLineMessage, Errc::io otherwise.
/// Messages name the path; callers add who should have answered.
Result<std::string> line_socket_request(const std::filesystem::path& path, const std::string& request,
                                        std::chrono::milliseconds timeout);

}  // namespace patchwave::net
