#include "common/error.hpp"

namespace patchwave {

std::string_view to_string(Errc errc) {
    switch (errc) {
        case Errc::io: return "i/o error";
        case Errc::invalid_argument: return "invalid argument";
        case Errc::parse: return "invalid document";
        case Errc::untrusted: return "untrusted";
        case Errc::not_found: return "not found";
        case Errc::already_exists: return "already exists";
        case Errc::limit: return "limit exceeded";
        case Errc::timeout: return "timed out";
        case Errc::state: return "invalid state";
        case Errc::internal: return "internal error";
    }
    return "unknown error";
}

namespace {
class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "patchwave"; }
    std::string message(int value) const override {
        return std::string(to_string(static_cast<Errc>(value)));
    }
};
}  // namespace

const std::error_category& patchwave_category() noexcept {
    static const Category category;
    return category;
}

std::error_code make_error_code(Errc errc) noexcept {
    return {static_cast<int>(errc), patchwave_category()};
}

Error Error::with_context(std::string_view context) const& {
    Error copy = *this;
    return std::move(copy).with_context(context);
}

Error Error::with_context(std::string_view context) && {
    if (!context.empty()) {
        std::string message;
        message.reserve(context.size() + 2 + message_.size());
        message.append(context).append(": ").append(message_);
        message_ = std::move(message);
    }
    return std::move(*this);
}

int exit_code_for(const Error& error) noexcept {
    if (error.is(Errc::untrusted)) return 3;
    if (error.is(Errc::invalid_argument) || error.is(Errc::parse)) return 2;
    return 1;
}

}  // namespace patchwave
