// Errors as values: every expected failure in Patchwave travels as an Error
// inside a Result<T>, gaining context on its way up; exceptions stay inside libraries.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace patchwave {

/// What kind of failure an Error is. The kind decides the exit code a command
/// ends with (see exit_code_for), so pick the one an operator would act on.
enum class Errc {
    io = 1,            ///< a file, socket or process could not be used
    invalid_argument,  ///< a bad flag or value given by the caller
    parse,             ///< a document or file is malformed or fails validation
    untrusted,         ///< signature, threshold, expiry, rollback or hash check failed
    not_found,         ///< the named object does not exist
    already_exists,    ///< refusing to overwrite something that exists
    limit,             ///< a size or count cap was exceeded
    timeout,           ///< an operation ran out of time
    state,             ///< the operation is not valid in the current state
    internal,          ///< a bug: an invariant did not hold
};

std::string_view to_string(Errc errc);
const std::error_category& patchwave_category() noexcept;
std::error_code make_error_code(Errc errc) noexcept;

/// An error code plus a one-line message that says what failed and why.
/// Context is prepended as the error travels up: "loading root.json: signature ...".
class Error {
public:
    Error(std::error_code code, std::string message)
        : code_(code), message_(std::move(message)) {}
    Error(Errc errc, std::string message) : Error(make_error_code(errc), std::move(message)) {}

    const std::error_code& code() const noexcept { return code_; }
    const std::string& message() const noexcept { return message_; }
    bool is(Errc errc) const noexcept { return code_ == make_error_code(errc); }

    /// Prefixes `context: ` to the message; keeps the code.
    Error with_context(std::string_view context) const&;
    Error with_context(std::string_view context) &&;

private:
    std::error_code code_;
    std::string message_;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

/// Shorthand for returning a failure: `return fail(Errc::parse, "...");`
inline std::unexpected<Error> fail(Errc errc, std::string message) {
    return std::unexpected<Error>(std::in_place, errc, std::move(message));
}
inline std::unexpected<Error> fail(Error error) {
    return std::unexpected<Error>(std::move(error));
}

/// Adds context to the error of a failed Result, passes a good one through.
template <class T>
Result<T> with_context(Result<T>&& result, std::string_view context) {
    if (!result) return std::unexpected(std::move(result.error()).with_context(context));
    return std::move(result);
}

/// The process exit code for an error, per the CLI contract:
/// 1 failed, 2 usage or bad value, 3 refused as untrusted.
int exit_code_for(const Error& error) noexcept;

}  // namespace patchwave
