// The agent's local control socket: `status` and `defer-reboot` talk to the
// running daemon with one JSON line each way over a Unix socket only root can open.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "common/error.hpp"

namespace patchwave::agent {

inline constexpr std::size_t kMaxControlMessage = 256 * 1024;

/// Serves requests on the daemon's event loop. A request is one line of JSON;
/// the handler's answer is written back as one line, then the connection closes.
class ControlServer {
public:
    using Handler = std::function<std::string(const std::string& request)>;

    /// Binds `path` (a stale socket from a crashed daemon is replaced; the
    /// caller holds the state dir lock, so it cannot be a live one), mode 0600.
    static Result<std::unique_ptr<ControlServer>> open(boost::asio::io_context& io, std::filesystem::path path,
                                                       Handler handler);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;
    void close();

private:
    ControlServer(boost::asio::io_context& io, std::filesystem::path path, Handler handler);
    void accept();

    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::filesystem::path path_;
    Handler handler_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// Client side: sends one request line and reads the answer line, within
/// `timeout`. Errc::not_found when no daemon listens (no socket, or refused).
Result<std::string> control_request(const std::filesystem::path& path, const std::string& request,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace patchwave::agent
