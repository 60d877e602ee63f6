// The fuzz targets without a fuzzer: runs every file of the given directories
// (the committed corpus and regressions) through LLVMFuzzerTestOneInput once,
// so CI replays what fuzzing found with g++ and no clang.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.hpp"

namespace {

// Absent directories are skipped (a target may have no regressions yet);
// an empty run as a whole is an error, so a mistyped corpus path cannot pass.
std::vector<std::filesystem::path> inputs_under(const std::vector<std::filesystem::path>& roots) {
    std::vector<std::filesystem::path> inputs;
    for (const auto& root : roots) {
        std::error_code error;
        if (std::filesystem::is_regular_file(root, error)) {
            inputs.push_back(root);
            continue;
        }
        if (!std::filesystem::is_directory(root, error)) continue;
        for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
            if (entry.is_regular_file(error)) inputs.push_back(entry.path());
        }
    }
    std::sort(inputs.begin(), inputs.end());
    return inputs;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " DIR_OR_FILE...\n";
        return 2;
    }
    const auto inputs = inputs_under(std::vector<std::filesystem::path>(argv + 1, argv + argc));
    if (inputs.empty()) {
        std::cerr << "no input files under the given paths\n";
        return 1;
    }
    for (const auto& path : inputs) {
        std::ifstream file(path, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        if (!file.good() && !file.eof()) {
            std::cerr << path.string() << ": cannot read\n";
            return 1;
        }
        // Named before it runs: an abort in the target leaves this as the last line.
        std::cerr << "input " << path.string() << " (" << bytes.size() << " bytes)\n";
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    std::cout << inputs.size() << " inputs replayed, no property broken\n";
    return 0;
}
