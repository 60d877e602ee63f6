#include "agent/state_dir.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace patchwave::agent {

Status StateDir::prepare() const {
    for (const auto& dir : {root, records(), roots(), swarm(), bundles(), logs()}) {
        std::error_code error;
        std::filesystem::create_directories(dir, error);
        if (error) return fail(Errc::io, "cannot create " + dir.string() + ": " + error.message());
        if (::chmod(dir.c_str(), 0700) != 0)
            return fail(Errc::io, "cannot set mode 0700 on " + dir.string() + ": " + std::strerror(errno));
    }
    return {};
}

}  // namespace patchwave::agent
