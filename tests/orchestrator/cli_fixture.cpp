#include "cli_fixture.hpp"

#include <catch2/catch.hpp>
#include <fstream>

namespace patchwave::testing {

std::string PatchwaveCli::ok(std::vector<std::string> args) const {
    const auto result = run(args);
    INFO("patchwave " << [&] {
        std::string joined;
        for (const auto& a : args) joined += a + " ";
        return joined;
    }() << "\nstderr: " << result.err);
    REQUIRE(result.exit_code == 0);
    return result.out;
}

std::filesystem::path PatchwaveCli::make_bundle_dir(const std::string& name, const std::string& version) const {
    const auto dir = dir_ / ("bundle-" + name + "-" + version);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "bundle.toml") << "name = \"" << name << "\"\nversion = \"" << version
                                       << "\"\npriority = \"high\"\ncategory = \"security\"\nreboot = \"required\"\n"
                                          "paths = [\"/etc/demo.conf\"]\n"
                                          "install = { command = \"./install.sh\", timeout = \"1m\" }\n";
    std::ofstream(dir / "install.sh") << "#!/bin/sh\necho " << name << " " << version << "\n";
    return dir;
}

std::string PatchwaveCli::create_bundle(const std::string& name, const std::string& version) const {
    std::string out = ok({"bundle", "create", make_bundle_dir(name, version).string()});
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    REQUIRE(out.size() == 64);
    return out;
}

void PatchwaveCli::enroll(const std::string& host, const std::vector<std::string>& labels) const {
    const auto key = dir_ / (host + ".key");
    std::string pub = ok({"key", "generate", "--out", key.string()});
    pub.erase(pub.find_last_not_of('\n') + 1);
    std::vector<std::string> args{"enroll", "--pubkey", pub, "--host", host, "--out", (dir_ / (host + ".cert")).string()};
    for (const auto& label : labels) {
        args.push_back("--label");
        args.push_back(label);
    }
    ok(args);
}

std::filesystem::path PatchwaveCli::write_rollout(const std::string& name, const std::vector<std::string>& bundle_ids,
                                                  bool emergency) const {
    const auto file = dir_ / (name + ".toml");
    std::ofstream out(file);
    out << "name = \"" << name << "\"\nbundles = [";
    for (std::size_t i = 0; i < bundle_ids.size(); ++i) out << (i ? ", " : "") << "\"" << bundle_ids[i] << "\"";
    out << "]\nemergency = " << (emergency ? "true" : "false")
        << "\nexpires = \"2099-01-01T00:00:00Z\"\n\n[[wave]]\nname = \"test\"\nselect = { ring = \"test\" }\n\n"
           "[[wave]]\nname = \"prod\"\nselect = { ring = \"prod\" }\nsuccess_threshold = \"90%\"\n";
    return file;
}

}  // namespace patchwave::testing
