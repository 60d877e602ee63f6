#include "agent/leftover_steps.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

namespace patchwave::agent {
namespace {

bool environment_has(const std::filesystem::path& environ_file, const std::string& entry) {
    std::ifstream in(environ_file, std::ios::binary);
    if (!in) return false;
    const std::string block((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t start = 0;
    while (start < block.size()) {
        std::size_t end = block.find('\0', start);
        if (end == std::string::npos) end = block.size();
        if (block.compare(start, end - start, entry) == 0) return true;
        start = end + 1;
    }
    return false;
}

std::vector<pid_t> marked_processes(const std::string& entry) {
    std::vector<pid_t> found;
    const pid_t self = ::getpid();
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = item.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        pid_t pid = 0;
        try {
            pid = static_cast<pid_t>(std::stol(name));
        } catch (const std::exception&) {
            continue;
        }
        if (pid <= 1 || pid == self) continue;
        if (environment_has(item.path() / "environ", entry)) found.push_back(pid);
    }
    return found;
}

}  // namespace

std::size_t kill_leftover_steps(std::string_view marker, std::chrono::milliseconds wait) {
    if (marker.empty()) return 0;
    const std::string entry = std::string(kStepMarkerVariable) + "=" + std::string(marker);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::set<pid_t> killed;
    while (true) {
        const auto found = marked_processes(entry);
        if (found.empty()) break;
        for (pid_t pid : found) {
            // pid > 1 was checked; a zombie's environ reads empty, so only live marked processes are here.
            if (::kill(pid, SIGKILL) == 0) killed.insert(pid);
        }
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return killed.size();
}

}  // namespace patchwave::agent
