// `patchwave serve`'s control socket (home/serve.sock, mode 0600): one JSON
// line in, one JSON line out, served on the daemon's event loop.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "common/error.hpp"

namespace patchwave::orchestrator {

class ServeSocket {
public:
    using Handler = std::function<std::string(const std::string& request)>;

    /// Binds `path`, replacing a stale socket (the caller holds the daemon's
    /// lock, so no live daemon owns it). Errc::io naming the path otherwise.
    static Result<std::unique_ptr<ServeSocket>> open(boost::asio::io_context& io, std::filesystem::path path,
                                                     Handler handler);
    ~ServeSocket();
    ServeSocket(const ServeSocket&) = delete;
    ServeSocket& operator=(const ServeSocket&) = delete;
    /// Stops accepting and removes the socket file. Idempotent.
    void close();

private:
    ServeSocket(boost::asio::io_context& io, std::filesystem::path path, Handler handler);
    void accept();

    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::filesystem::path path_;
    Handler handler_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace patchwave::orchestrator
