#!/usr/bin/env bash
# E2E test 6: tampered bytes and forged records. A good rollout installs
# everywhere and is republished as v2. A second bundle installs on the test
# host, whose stored copy is then overwritten while it seeds; the other hosts
# fetch it anyway and install only the real bytes, and the tamper is caught
# (a fetcher's hash check, or the seeder refusing to seed its copy again).
# Then an enrolled host gone rogue (tests/e2e/tools/rogue_member) pushes four
# bad records, one after another: a manifest signed by an approver key instead
# of the release key, an expired one, the real v1 replayed as v5, and a
# release-signed rollout whose bundle has 1 of the 2 approvals it needs. Every
# agent refuses each and reports it; nothing new is installed; `patchwave
# audit --json` lists every refusal with its reason and serve's event log has
# one "refused" event per host and subject, also after a restart of serve.
# Usage: tests/e2e/forged_records.sh BUILD_DIR
set -euo pipefail
ring_of() {  # demo-01 is the test ring, demo-02..05 production
    if (( $1 <= 1 )); then echo test; else echo prod; fi
}
FLEET_STATUS_INTERVAL=5s
source "$(dirname "$0")/../../scripts/lib/fleet.sh"
fleet_init "${1:?usage: forged_records.sh BUILD_DIR}" 5 127.0.81
FORGE=$BUILD/tests/e2e/tools/forge_manifest
ROGUE=$BUILD/tests/e2e/tools/rogue_member
[[ -x "$FORGE" && -x "$ROGUE" ]] || { echo "forged_records: $FORGE or $ROGUE is not built" >&2; exit 1; }
R=forged-2026-11      # the good rollout, republished as v2
T=tamper-2026-11      # the bundle whose seeded copy gets tampered
U=forged-under        # the under-approved rollout the rogue pushes
started=$SECONDS

# bundle DIR NAME VERSION PAYLOAD_KB APPROVALS: no reboot; install copies the
# payload to /opt/demo/NAME.bin, so what was installed can be compared.
bundle() {
    local dir=$1 name=$2 version=$3 kb=$4 approvals=$5 id i
    mkdir -p "$dir"
    cat > "$dir/bundle.toml" <<TOML
name = "$name"
version = "$version"
priority = "high"
category = "security"
description = "e2e test 6"
reboot = "none"
paths = ["/etc/demo/$name.version", "/opt/demo/$name.bin"]
install = { command = "./install.sh", timeout = "1m" }
TOML
    cat > "$dir/install.sh" <<SH
#!/bin/sh
set -e
mkdir -p "\$PATCHWAVE_ROOT/etc/demo" "\$PATCHWAVE_ROOT/opt/demo" "\$PATCHWAVE_ROOT/var/log"
cp payload.bin "\$PATCHWAVE_ROOT/opt/demo/$name.bin"
echo "$version" > "\$PATCHWAVE_ROOT/etc/demo/$name.version"
echo "install $name $version" >> "\$PATCHWAVE_ROOT/var/log/demo-steps.log"
SH
    chmod +x "$dir/install.sh"
    head -c "$((kb * 1024))" /dev/urandom > "$dir/payload.bin"
    id=$("$P" bundle create "$dir")
    for i in $(seq 1 "$approvals"); do
        "$P" bundle approve "$id" --key "$PATCHWAVE_HOME/keys/approver-$i.key" --change CHG-E2E-6 >/dev/null
    done
    echo "$id"
}

# rollout FILE NAME ID TEST_SOAK: waves test (ring=test) then prod.
rollout() {
    cat > "$1" <<TOML
name = "$2"
bundles = ["$3"]
expires = "2099-01-01T00:00:00Z"
[[wave]]
name = "test"
select = { ring = "test" }
soak = "$4"
[[wave]]
name = "prod"
select = { ring = "prod" }
TOML
}

installs() {  # install lines in every sandbox's step log
    cat "$FLEET"/agents/*/root/var/log/demo-steps.log 2>/dev/null | grep -c "^install" || true
}

# ---- 1. a good rollout installs everywhere, then v2 of it --------------------
ID_GOOD=$(bundle "$FLEET/bundle-a" e2e-good 1.0 64 2)
ID_TAMPER=$(bundle "$FLEET/bundle-b" e2e-tamper 2.0 4096 2)
ID_UNDER=$(bundle "$FLEET/bundle-c" e2e-under 3.0 64 1)
rollout "$FLEET/r.toml" $R "$ID_GOOD" 1s
rollout "$FLEET/t.toml" $T "$ID_TAMPER" 1h
fleet_start_serve
fleet_start_agents
"$P" rollout publish "$FLEET/r.toml" >/dev/null
wait_until "$R completing" $R 'r["phase"]' completed
"$P" rollout publish "$FLEET/r.toml" >/dev/null  # v2: the v1 envelope becomes a replay
for i in $(seq 1 "$FLEET_AGENTS"); do
    wait_agent "$(host_of "$i") taking $R v2" "$i" \
        '[x["manifest_version"] for x in s["rollouts"] if x["rollout_id"] == "'$R'"][0]' 2
done
echo "e2e: $R installed on $FLEET_AGENTS hosts and republished as v2 ($((SECONDS - started)) s)"

# ---- 2. a tampered seed -----------------------------------------------------
"$P" rollout publish "$FLEET/t.toml" >/dev/null
wait_agent "demo-01 installing $T" 1 \
    '[b["state"] for x in s["rollouts"] if x["rollout_id"] == "'$T'" for b in x["bundles"]][0]' installed
copy="$(dir_of 1)/state/bundles/$ID_TAMPER/payload.bin"
[[ -f "$copy" ]] || die "demo-01 keeps no copy of $T's bundle at $copy"
size=$(stat -c %s "$copy")
# In place, every byte: the seeding process reads the file it has open.
head -c "$size" /dev/urandom | dd of="$copy" bs=64k conv=notrunc status=none
cmp -s "$copy" "$FLEET/bundle-b/payload.bin" && die "the tamper did not change $copy"
"$P" rollout advance $T >/dev/null
wait_until "$T completing from a tampered seed and the origin" $T 'r["phase"]' completed
good=$(sha256sum < "$FLEET/bundle-b/payload.bin" | cut -d' ' -f1)
for i in $(seq 1 "$FLEET_AGENTS"); do
    installed=$(sha256sum < "$(dir_of "$i")/root/opt/demo/e2e-tamper.bin" | cut -d' ' -f1)
    [[ "$installed" == "$good" ]] || die "$(host_of "$i") installed bytes that are not the bundle's"
done
fetch_failures=$(grep -h "failed its hash check" "$FLEET"/agents/demo-0[2-5]/agent.log 2>/dev/null | wc -l)
# Restarted, the seeder hashes what it kept before it offers it again.
fleet_kill_agent 1
for _ in $(seq 1 100); do
    grep -q "no longer matches" "$(dir_of 1)/agent.log" && break
    sleep 0.2
done
seed_refusals=$(grep -c "no longer matches" "$(dir_of 1)/agent.log" || true)
(( fetch_failures + seed_refusals > 0 )) || die "nobody noticed the tampered copy on demo-01"
echo "e2e: $T installed the real bytes on $FLEET_AGENTS hosts; tamper caught by" \
     "$fetch_failures fetcher hash failure(s) and $seed_refusals seeder check(s) ($((SECONDS - started)) s)"

# ---- 3. forged records from a rogue member -----------------------------------
"$FORGE" --home "$PATCHWAVE_HOME" --rollout "$FLEET/r.toml" --version 3 \
    --sign-with "$PATCHWAVE_HOME/keys/approver-1.key" --out "$FLEET/wrong-key.env" >/dev/null
"$FORGE" --home "$PATCHWAVE_HOME" --rollout "$FLEET/r.toml" --version 4 \
    --expires 2026-01-01T00:00:00Z --out "$FLEET/expired.env" >/dev/null
"$FORGE" --home "$PATCHWAVE_HOME" --stored $R --version 1 --out "$FLEET/replay-v1.env" >/dev/null
cat > "$FLEET/u.toml" <<TOML
name = "$U"
bundles = ["$ID_UNDER"]
expires = "2099-01-01T00:00:00Z"
[[wave]]
name = "everyone"
TOML
"$FORGE" --home "$PATCHWAVE_HOME" --rollout "$FLEET/u.toml" --out "$FLEET/under.env" >/dev/null
set +e
"$P" rollout publish "$FLEET/u.toml" > "$FLEET/under-publish.txt" 2>&1
code=$?
set -e
(( code == 3 )) || die "rollout publish of an under-approved bundle exited $code, not 3"

rogue_pub=$("$P" key generate --out "$FLEET/rogue.key")
"$P" enroll --pubkey "$rogue_pub" --host rogue-01 --label ring=rogue --out "$FLEET/rogue.cert" >/dev/null
before=$(installs)
mkfifo "$FLEET/rogue.in"
"$ROGUE" --root "$FLEET/root.pwe" --certificate "$FLEET/rogue.cert" --bind "$NET.99:7946" \
    --join "$NET.1:7946" --sync-ms 300 --lifetime-s 200 < "$FLEET/rogue.in" > "$FLEET/rogue.log" 2>&1 &
FLEET_PIDS+=($!)
exec 7> "$FLEET/rogue.in"

# refused_by_all SUBJECT WORD: every agent lists SUBJECT with WORD in the reason.
refused_by_all() {
    local i
    for i in $(seq 1 "$FLEET_AGENTS"); do
        wait_agent "$(host_of "$i") refusing $1" "$i" \
            'any(x["subject"] == "'"$1"'" and "'"$2"'" in x["reason"] for x in s["refused"])' True
    done
    echo "e2e: every agent refused $1"
}
short_c=${ID_UNDER:0:12}
for forged in "wrong-key.env:manifest $R v3:release" "expired.env:manifest $R v4:expired" \
              "replay-v1.env@5:manifest $R v5:rollback refused" "under.env:bundle $short_c of $U:approvals"; do
    IFS=: read -r file subject word <<< "$forged"
    echo "publish $FLEET/$file" >&7
    refused_by_all "$subject" "$word"
done

for i in $(seq 1 "$FLEET_AGENTS"); do
    version=$(agent_field "$i" '[x["manifest_version"] for x in s["rollouts"] if x["rollout_id"] == "'$R'"][0]')
    [[ "$version" == 2 ]] || die "$(host_of "$i") holds $R v$version after the forgeries, not v2"
    state=$(agent_field "$i" '[b["state"] for x in s["rollouts"] if x["rollout_id"] == "'$U'" for b in x["bundles"]]')
    [[ "$state" == "['waiting']" ]] || die "$(host_of "$i"): the under-approved bundle is $state"
    [[ ! -e "$(dir_of "$i")/root/etc/demo/e2e-under.version" ]] || die "$(host_of "$i") installed the under-approved bundle"
done
sleep 2
(( $(installs) == before )) || die "something was installed after the forgeries ($before installs before, $(installs) now)"

# The orchestrator: audit --json (over all rollouts the refusals are fleet-wide).
audit_ok() {
    "$P" audit --json 2>/dev/null | python3 -c '
import json, sys
want = {s: w for s, w in (f.split(":") for f in sys.argv[2:])}
hosts = {f"demo-{i:02d}" for i in range(1, int(sys.argv[1]) + 1)}
seen = {(e["host"], e["subject"]) for e in json.load(sys.stdin)[0]["refused"]
        if e["subject"] in want and want[e["subject"]] in e["reason"] and e["count"] >= 1}
print(all((h, s) in seen for h in hosts for s in want))' "$FLEET_AGENTS" "${@}" || echo False
}
subjects=("manifest $R v3:release" "manifest $R v4:expired" "manifest $R v5:rollback refused"
          "bundle $short_c of $U:approvals")
wait_since=$SECONDS
until [[ "$(audit_ok "${subjects[@]}")" == True ]]; do
    (( SECONDS - wait_since <= FLEET_LIMIT )) || die "audit --json never listed every refusal"
    sleep 0.5
done
"$P" audit --rollout $R --json | python3 -c '
import json, sys
entries = json.load(sys.stdin)[0]["refused"]
assert entries and all(e["subject"].startswith("manifest '$R' ") for e in entries), entries
' || die "audit --rollout $R lists refusals that are not about $R"
echo "e2e: audit --json lists the 4 refusals of all $FLEET_AGENTS hosts with their reasons"

events_count() {
    "$P" events --json | python3 -c '
import json, sys
keys = [(e["details"]["host"], e["details"]["subject"], e["reason"]) for e in json.load(sys.stdin) if e["kind"] == "refused"]
assert len(keys) == len(set(keys)), "duplicate refused events"
print(len(keys))'
}
refused_events=$(events_count) || die "serve recorded a refusal twice"
(( refused_events >= 4 * FLEET_AGENTS )) || die "serve recorded $refused_events refused events, want >= $((4 * FLEET_AGENTS))"
# Restarted, serve hears the same refusals again and announces none twice.
fleet_kill_serve
fleet_start_serve
sleep 7  # more than one status interval: every agent reports again
after_restart=$(events_count) || die "serve recorded a refusal twice after its restart"
(( after_restart == refused_events )) || die "serve announced $((after_restart - refused_events)) refusal(s) again after a restart"
echo "quit" >&7
exec 7>&-

"$P" audit --rollout $R
echo "e2e: OK — tampered seed caught, 4 forged records refused by all $FLEET_AGENTS agents and reported," \
     "$refused_events refused events ($((SECONDS - started)) s)"
