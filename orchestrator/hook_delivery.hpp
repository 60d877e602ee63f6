// One delivery attempt of an event to one hook target: the command (a process
// group under a timeout) or the webhook (an HTTP/1.1 POST); HookRunner retries them.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace patchwave::orchestrator {

/// A plain-HTTP URL split for a request: "http://host:port/path?query".
struct HttpUrl {
    std::string host;    ///< name or address, IPv6 without brackets
    std::string port;    ///< "80" when not given
    std::string target;  ///< path and query, "/" when empty
};

/// Errc::invalid_argument saying what is wrong (scheme other than http, empty host, bad port, credentials).
Result<HttpUrl> parse_http_url(std::string_view url);

/// Runs `command` with /bin/sh -c in its own process group, `body` on stdin; its stdout and stderr become
/// log lines prefixed with `label`. Fails on exit status other than 0, a signal, or the timeout (the whole group
/// is killed); also kills it, within about 100 ms, once `stop` is set.
Status run_hook_command(const std::string& command, const std::string& body, std::string_view label,
                        std::chrono::milliseconds timeout, const std::atomic<bool>& stop);

/// POSTs `body` as application/json to `url`; a 2xx answer is success, anything else (or no answer within
/// `timeout`, resolving and connecting included) a failure naming the status or the error. Gives up within about
/// 100 ms once `stop` is set.
Status post_webhook(const HttpUrl& url, const std::string& body, std::string_view event_kind,
                    std::chrono::milliseconds timeout, const std::atomic<bool>& stop);

}  // namespace patchwave::orchestrator
