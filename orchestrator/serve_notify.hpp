// The CLI's side of `patchwave serve`'s control socket (home/serve.sock): tell a
// running daemon that the database changed, or ask it how it is doing.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "common/error.hpp"

namespace patchwave::orchestrator {

/// home/serve.sock.
std::filesystem::path serve_socket_path(const std::filesystem::path& home);

/// Sends one JSON line and reads one back, within `timeout`. Errc::not_found
/// when no daemon listens (no socket, or connection refused), Errc::timeout
/// when it does not answer, Errc::io otherwise.
Result<std::string> serve_request(const std::filesystem::path& home, const std::string& request,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// After a command stored something the fleet must see: asks a running
/// `patchwave serve` to publish it now ({"command":"sync"}). No daemon is
/// fine (it publishes on start; said at info level); other failures are
/// warnings: serve also polls the database. Returns whether serve answered.
bool notify_serve(const std::filesystem::path& home);

}  // namespace patchwave::orchestrator
