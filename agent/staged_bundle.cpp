#include "agent/staged_bundle.hpp"

namespace patchwave::agent {

namespace fs = std::filesystem;

Status check_staged_bundle(const fs::path& directory, std::size_t max_entries) {
    std::error_code ec;
    const fs::file_status top = fs::symlink_status(directory, ec);
    if (ec) return fail(Errc::io, "staged bundle " + directory.string() + ": " + ec.message());
    if (!fs::is_directory(top)) {
        return fail(Errc::untrusted, "staged bundle " + directory.string() + " is not a plain directory");
    }
    // directory_options::none: links are reported as links, never followed.
    fs::recursive_directory_iterator it(directory, fs::directory_options::none, ec);
    if (ec) return fail(Errc::io, "cannot list staged bundle " + directory.string() + ": " + ec.message());
    std::size_t seen = 0;
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) return fail(Errc::io, "cannot list staged bundle " + directory.string() + ": " + ec.message());
        if (++seen > max_entries) {
            return fail(Errc::limit, "staged bundle " + directory.string() + " holds more than "
                                         + std::to_string(max_entries) + " entries");
        }
        const fs::file_status status = it->symlink_status(ec);
        if (ec) return fail(Errc::io, "cannot stat " + it->path().string() + ": " + ec.message());
        if (fs::is_regular_file(status) || fs::is_directory(status)) continue;
        const std::string what = fs::is_symlink(status) ? "a symlink" : "a special file (fifo, socket or device)";
        return fail(Errc::untrusted, "staged bundle " + directory.string() + ": "
                                         + it->path().lexically_relative(directory).generic_string() + " is " + what
                                         + ", which no bundle contains: refused before running anything");
    }
    return {};
}

}  // namespace patchwave::agent
