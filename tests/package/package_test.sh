#!/usr/bin/env bash
# The Debian packages, packed from this build tree (cpack) and checked:
# contents, Depends, conffile marking, both systemd units (systemd-analyze
# verify), and patchwave-agent installed, reinstalled and purged in a
# throwaway root with dpkg --root, its maintainer scripts included. Leaves
# nothing behind. Exits non-zero naming the first check that failed.
#   tests/package/package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build=$(realpath "$1")
source=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/patchwave-package-XXXXXX")
# cpack also writes install_manifest_<component>.txt into the build tree:
# removed again unless they were there before.
manifests=()
for component in agent orchestrator; do
    [[ -e "$build/install_manifest_$component.txt" ]] || manifests+=("$build/install_manifest_$component.txt")
done
trap 'rm -rf "$work" "${manifests[@]}"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
started=$SECONDS
step() { echo "== [$((SECONDS - started)) s] $*"; }

# Paths in a package, files only (no directories), sorted.
package_files() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|' | sort; }

# `expect_files DEB FILE...`: the package holds exactly these files.
expect_files() {
    local deb=$1
    shift
    local want
    want=$(printf '%s\n' "$@" | sort)
    local got
    got=$(package_files "$deb")
    [[ "$got" == "$want" ]] || fail "$(basename "$deb") holds other files than expected:
$(diff <(echo "$want") <(echo "$got") || true)"
}

# `expect_depends DEB REGEX...`: Depends names a package matching each.
expect_depends() {
    local deb=$1
    shift
    local depends
    depends=$(dpkg-deb -f "$deb" Depends)
    local pattern
    for pattern in "$@"; do
        grep -Eq "(^|, )${pattern}( |,|$)" <<< "$depends" \
            || fail "$(basename "$deb"): Depends lacks $pattern (Depends: $depends)"
    done
}

# `same_file A B`: identical bytes.
same_file() { cmp -s "$1" "$2" || fail "$2 differs from $1"; }

step "cpack from $build"
# gzip: the compression does not matter for these checks, its CPU time does.
if ! cpack --config "$build/CPackConfig.cmake" -B "$work/out" -D CPACK_DEBIAN_COMPRESSION_TYPE=gzip \
    > "$work/cpack.log" 2>&1; then
    cat "$work/cpack.log" >&2
    fail "cpack failed"
fi
agent_deb=$(find "$work/out" -maxdepth 1 -name 'patchwave-agent_*.deb')
orchestrator_deb=$(find "$work/out" -maxdepth 1 -name 'patchwave_*.deb')
[[ -f "$agent_deb" && -f "$orchestrator_deb" ]] || fail "cpack made no patchwave-agent_*.deb and patchwave_*.deb: $(ls "$work/out")"
ls -l "$agent_deb" "$orchestrator_deb"

step "contents"
# Man pages come from help2man, when the build found it.
agent_man=()
orchestrator_man=()
if grep -q '^PATCHWAVE_HELP2MAN:FILEPATH=/' "$build/CMakeCache.txt"; then
    agent_man=(/usr/share/man/man1/patchwave-agent.1.gz)
    orchestrator_man=(/usr/share/man/man1/patchwave.1.gz)
fi
expect_files "$agent_deb" /usr/bin/patchwave-agent /etc/patchwave/agent.toml \
    /lib/systemd/system/patchwave-agent.service \
    /usr/share/doc/patchwave-agent/{copyright,changelog.Debian.gz,agent.md,formats.md,operations.md,packaging.md} \
    /usr/share/lintian/overrides/patchwave-agent \
    "${agent_man[@]}"
expect_files "$orchestrator_deb" /usr/bin/patchwave /etc/patchwave/serve.toml /lib/systemd/system/patchwave.service \
    /usr/share/doc/patchwave/{copyright,changelog.Debian.gz,cli.md,formats.md,operations.md,packaging.md} \
    /usr/share/lintian/overrides/patchwave \
    "${orchestrator_man[@]}"
[[ $(dpkg-deb -f "$agent_deb" Package) == patchwave-agent ]] || fail "the agent package is not named patchwave-agent"
[[ $(dpkg-deb -f "$orchestrator_deb" Package) == patchwave ]] || fail "the orchestrator package is not named patchwave"

step "Depends (from dpkg-shlibdeps)"
libraries=('libtorrent-rasterbar2\.0[a-z0-9]*' 'libsodium[0-9]+' 'libspdlog1\.[0-9]+[a-z0-9-]*' 'libfmt[0-9]+'
    'libstdc\+\+6' 'libc6')
expect_depends "$agent_deb" "${libraries[@]}"
expect_depends "$orchestrator_deb" "${libraries[@]}" 'libsqlite3-0' 'adduser'
dpkg-deb -f "$agent_deb" Depends

step "control files: conffiles and maintainer scripts"
for deb in "$agent_deb" "$orchestrator_deb"; do
    control="$work/control-$(dpkg-deb -f "$deb" Package)"
    dpkg-deb -e "$deb" "$control"
    for script in postinst prerm postrm; do
        [[ -x "$control/$script" ]] || fail "$(basename "$deb"): $script missing or not executable"
        sh -n "$control/$script" || fail "$(basename "$deb"): $script: syntax error"
    done
done
[[ $(cat "$work/control-patchwave-agent/conffiles") == /etc/patchwave/agent.toml ]] \
    || fail "patchwave-agent's conffiles is not exactly /etc/patchwave/agent.toml"
[[ $(cat "$work/control-patchwave/conffiles") == /etc/patchwave/serve.toml ]] \
    || fail "patchwave's conffiles is not exactly /etc/patchwave/serve.toml"

step "install patchwave-agent into a throwaway root (dpkg --root)"
root="$work/root"
admin="$root/var/lib/dpkg"
mkdir -p "$admin/info" "$admin/updates" "$admin/triggers"
touch "$admin/available"
# The root's dpkg database claims the Depends installed, copied from this
# machine's database (a virtual name by the package that provides it), so
# dpkg checks them, names and versions, for real.
: > "$admin/status"
for name in $(dpkg-deb -f "$agent_deb" Depends | tr ',' '\n' | sed -E 's/^ *([^ (]+).*/\1/'); do
    provider=$name
    if [[ $(dpkg-query -W -f='${Status}' "$name" 2>/dev/null) != "install ok installed" ]]; then
        # awk reads to the end: exiting early would SIGPIPE dpkg-query (pipefail).
        provider=$(dpkg-query -W -f='${Package} ${Provides}\n' | awk -v name="$name" \
            '!found { for (i = 2; i <= NF; i++) { sub(/,$/, "", $i); if ($i == name) { print $1; found = 1 } } }')
    fi
    [[ -n "$provider" ]] && dpkg-query -s "$provider" >> "$admin/status" 2>/dev/null \
        || fail "the dependency $name is neither installed on this machine nor provided by an installed package"
    echo >> "$admin/status"
done
# --force-script-chrootless: the root has no shell to chroot into; the
# maintainer scripts run here with DPKG_ROOT set and must honour it.
dpkg_root=(dpkg --root="$root" --log="$work/dpkg.log" --force-script-chrootless)
[[ $(id -u) -eq 0 ]] || dpkg_root+=(--force-not-root)
"${dpkg_root[@]}" -i "$agent_deb" > "$work/dpkg-install.log" 2>&1 \
    || { cat "$work/dpkg-install.log" >&2; fail "dpkg --root -i patchwave-agent failed"; }
status=$("${dpkg_root[@]}" -s patchwave-agent)
grep -q '^Status: install ok installed$' <<< "$status" || fail "patchwave-agent is not installed: $status"
grep -Eq '^ /etc/patchwave/agent.toml [0-9a-f]{32}$' <<< "$status" \
    || fail "dpkg did not register /etc/patchwave/agent.toml as a conffile: $status"
same_file "$source/packaging/etc/agent.toml" "$root/etc/patchwave/agent.toml"
same_file "$source/packaging/systemd/patchwave-agent.service" "$root/lib/systemd/system/patchwave-agent.service"
[[ -x "$root/usr/bin/patchwave-agent" ]] || fail "/usr/bin/patchwave-agent is not executable"
help=$("$root/usr/bin/patchwave-agent" --help) || fail "the packaged patchwave-agent does not run"
grep -q '^Usage: patchwave-agent' <<< "$help" || fail "the packaged patchwave-agent --help printed no usage: $help"
version=$("$root/usr/bin/patchwave-agent" --version) || fail "patchwave-agent --version failed"
package_version=$(dpkg-deb -f "$agent_deb" Version)
[[ $version == "patchwave-agent ${package_version%-*}" ]] \
    || fail "patchwave-agent --version says \"$version\", the package is $package_version"
[[ $(stat -c %a "$root/var/lib/patchwave-agent") == 700 ]] || fail "the postinst did not create /var/lib/patchwave-agent 0700"
[[ -L "$root/etc/systemd/system/multi-user.target.wants/patchwave-agent.service" ]] \
    || fail "the postinst did not enable patchwave-agent.service"

step "a changed conffile survives a reinstall"
echo '# changed by the operator' >> "$root/etc/patchwave/agent.toml"
"${dpkg_root[@]}" -i "$agent_deb" > "$work/dpkg-reinstall.log" 2>&1 \
    || { cat "$work/dpkg-reinstall.log" >&2; fail "reinstalling patchwave-agent failed"; }
grep -q '^# changed by the operator$' "$root/etc/patchwave/agent.toml" \
    || fail "reinstalling overwrote the operator's /etc/patchwave/agent.toml"

step "systemd-analyze verify, both units"
# The orchestrator's files join the root unpacked (its postinst adds a
# system user, which has no root of its own to go to); verify also needs
# the targets the units name, taken from this machine.
dpkg-deb -x "$orchestrator_deb" "$root"
version=$("$root/usr/bin/patchwave" --version) || fail "patchwave --version failed"
package_version=$(dpkg-deb -f "$orchestrator_deb" Version)
[[ $version == "patchwave ${package_version%-*}" ]] \
    || fail "patchwave --version says \"$version\", the package is $package_version"
mkdir -p "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
# verify exits 0 on unknown keys and bad values: any output is a failure.
if ! systemd-analyze verify --root="$root" --man=no patchwave-agent.service patchwave.service \
    > "$work/verify.log" 2>&1 || [[ -s "$work/verify.log" ]]; then
    cat "$work/verify.log" >&2
    fail "systemd-analyze verify complained"
fi
rm -rf "$root/usr/lib/systemd/system"

step "purge patchwave-agent"
"${dpkg_root[@]}" --purge patchwave-agent > "$work/dpkg-purge.log" 2>&1 \
    || { cat "$work/dpkg-purge.log" >&2; fail "dpkg --root --purge patchwave-agent failed"; }
for gone in /usr/bin/patchwave-agent /etc/patchwave/agent.toml /var/lib/patchwave-agent \
    /etc/systemd/system/multi-user.target.wants/patchwave-agent.service; do
    [[ ! -e "$root$gone" && ! -L "$root$gone" ]] || fail "$gone is still there after the purge"
done

step "done"
