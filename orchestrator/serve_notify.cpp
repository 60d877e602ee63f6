#include "orchestrator/serve_notify.hpp"

#include <spdlog/spdlog.h>

#include "net/line_socket.hpp"

namespace patchwave::orchestrator {

std::filesystem::path serve_socket_path(const std::filesystem::path& home) {
    return home / "serve.sock";
}

Result<std::string> serve_request(const std::filesystem::path& home, const std::string& request,
                                  std::chrono::milliseconds timeout) {
    auto answer = net::line_socket_request(serve_socket_path(home), request, timeout);
    if (!answer && answer.error().is(Errc::not_found))
        return fail(Errc::not_found, "patchwave serve is not running (" + answer.error().message() + ")");
    if (!answer) return std::unexpected(answer.error().with_context("patchwave serve's control socket"));
    return answer;
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
