#!/usr/bin/env bash
# Upload benchmark: the same files to a fresh local pypiserver with bare `curl` (one POST after
# another: what the server and the wire allow a client that does nothing else), `uv publish`,
# `twine upload` and `sdd-publish run`, in one run, straight on loopback (the index is the
# bottleneck) and through bench/delay_proxy.py, which gives every connection a round-trip delay
# and its own bandwidth cap (what a CI runner talking to PyPI sees).
#
# Every case runs ROUNDS times, the tools in a rotated order each round so that a drifting
# machine load does not always hit the same one; the table shows medians (min-max for wall
# time) and the load average while measuring. GNU time (`/usr/bin/time -v`) measures wall time,
# client CPU (user+sys, children included) and peak RSS. For sdd-publish it also reads its own
# log and JSON report: how long the pre-upload question to the index and the post-upload check
# that the index serves every file took (its fixed costs), and how many files it chose to
# upload at once.
#
#   bench/upload.sh                                   # 20 x 10 MB, both settings, 3 rounds
#   ROUNDS=5 COUNT=20 SIZE_MB=20 bench/upload.sh
#   BIG_MB=500 SETTINGS=loopback TOOLS="uv sdd-publish" bench/upload.sh   # one big file too
#
# Settings (environment): COUNT (20), SIZE_MB (10), BIG_MB (0 = no big file; else one wheel of
# that size as a second data set), ROUNDS (3), RTT_MS (50), MBIT (100, per connection and
# direction), SETTINGS ("loopback proxy"), TOOLS ("curl uv twine sdd-publish"), OUT (also write
# the report there), WORK (scratch dir, kept; default a temp dir, removed), INPUT_MAX_PARALLEL
# (passed to sdd-publish; empty = its default).
# Needs: cargo, curl, $SDD_TOOLS (default <repo>/.tools) with pypiserver, passlib, twine and uv
# (scripts/tools installs them), and GNU time (Debian: apt-get install -y time).
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
tools=${SDD_TOOLS:-$repo/.tools}
venv=$tools/venv/bin
COUNT=${COUNT:-20}
SIZE_MB=${SIZE_MB:-10}
BIG_MB=${BIG_MB:-0}
ROUNDS=${ROUNDS:-3}
RTT_MS=${RTT_MS:-50}
MBIT=${MBIT:-100}
SETTINGS=${SETTINGS:-loopback proxy}
TOOLS=${TOOLS:-curl uv twine sdd-publish}
OUT=${OUT:-}

die() { printf 'bench: %s\n' "$*" >&2; exit 2; }

for t in python pypi-server twine uv; do
    [[ -x "$venv/$t" ]] || die "$venv/$t is missing: run scripts/tools (SDD_TOOLS=$tools)"
done
command -v curl >/dev/null || die "curl is missing"
if ! /usr/bin/time -v true >/dev/null 2>&1; then
    die "GNU time is needed at /usr/bin/time (-v): on Debian/Ubuntu run 'apt-get install -y time'"
fi

printf 'bench: building sdd-publish (release)\n' >&2
(cd "$repo" && cargo build --release --quiet)
sdd="$repo/target/release/sdd-publish"

if [[ -n "${WORK:-}" ]]; then
    mkdir -p "$WORK"
    work=$WORK
    keep=1
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/sdd-bench.XXXXXX")
    keep=0
fi
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [[ $keep -eq 0 ]]; then
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT

token="pypi-BENCH$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
export TOKEN="$token"
"$venv/python" -c 'import os,sys
from passlib.apache import HtpasswdFile
h=HtpasswdFile(sys.argv[1],new=True); h.set_password("__token__",os.environ["TOKEN"]); h.save()' \
    "$work/htpasswd"
unset TOKEN

free_port() {
    "$venv/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    local port=$1 _
    for _ in $(seq 1 100); do
        if "$venv/python" -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "nothing listens on 127.0.0.1:$port"
}

# Data sets: "label|dir"
printf 'bench: generating %s x %s MB wheels' "$COUNT" "$SIZE_MB" >&2
"$venv/python" "$repo/bench/make_wheels.py" "$work/many" --name benchpkg --count "$COUNT" --size-mb "$SIZE_MB"
sets=("$COUNT x $SIZE_MB MB|$work/many")
if [[ "$BIG_MB" != 0 ]]; then
    printf ' and one %s MB wheel' "$BIG_MB" >&2
    "$venv/python" "$repo/bench/make_wheels.py" "$work/big" --name benchbig --count 1 --size-mb "$BIG_MB"
    sets+=("1 x $BIG_MB MB|$work/big")
fi
printf '\n' >&2

# Start pypiserver on a fresh package dir; sets $port (not a subshell: $pids must grow here).
start_index() {
    local pkgs=$1
    port=$(free_port)
    "$venv/pypi-server" run -i 127.0.0.1 -p "$port" -P "$work/htpasswd" -a update \
        --disable-fallback --server auto "$pkgs" >"$work/pypiserver.log" 2>&1 &
    pids+=($!)
    wait_port "$port"
}

stop_last() {
    local p=${pids[-1]}
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset 'pids[-1]'
}

# One measured upload: tool, url, dir -> "wall cpu rss_mb status query_s verify_s streams".
measure() {
    local tool=$1 url=$2 dir=$3 log=$work/time.txt
    local files=("$dir"/*.whl)
    local status=0
    rm -f "$work/report.json"
    case "$tool" in
        curl)
            # The bare transport: the form pypiserver needs, one file after another.
            # shellcheck disable=SC2016 # the inner script expands its own arguments
            /usr/bin/time -v -o "$log" bash -c '
                url=$1 auth=$2; shift 2
                for f in "$@"; do
                    curl -sS --fail -o /dev/null -u "$auth" -F ":action=file_upload" \
                        -F protocol_version=1 -F name=bench -F version=1 \
                        -F filetype=bdist_wheel -F pyversion=py3 -F "content=@$f" "$url" || exit 1
                done' _ "$url" "__token__:$token" "${files[@]}" >"$work/client.log" 2>&1 || status=$?
            ;;
        sdd-publish)
            (cd "$work" && env -i PATH="$PATH" HOME="$work" INPUT_MODE=pypi \
                INPUT_PYPI_URL="$url" INPUT_PYPI_TOKEN="$token" INPUT_PACKAGES_DIR="$dir" \
                INPUT_MAX_PARALLEL="${INPUT_MAX_PARALLEL:-}" INPUT_VERIFY_INSTALL=false \
                /usr/bin/time -v -o "$log" "$sdd" run --json) >"$work/report.json" 2>&1 || status=$?
            cp "$work/report.json" "$work/client.log"
            ;;
        twine)
            /usr/bin/time -v -o "$log" "$venv/twine" upload --non-interactive \
                --disable-progress-bar --repository-url "$url" -u __token__ -p "$token" \
                "${files[@]}" >"$work/client.log" 2>&1 || status=$?
            ;;
        uv)
            /usr/bin/time -v -o "$log" "$venv/uv" publish --publish-url "$url" \
                -u __token__ -p "$token" --no-cache "${files[@]}" \
                >"$work/client.log" 2>&1 || status=$?
            ;;
        *) die "unknown tool $tool (curl, uv, twine, sdd-publish)" ;;
    esac
    if [[ $status -ne 0 ]]; then
        printf 'bench: %s failed (exit %s):\n' "$tool" "$status" >&2
        tail -20 "$work/client.log" >&2
        echo "- - - FAILED - - -"
        return
    fi
    local extra="- - -"
    if [[ "$tool" == sdd-publish ]]; then
        extra=$("$venv/python" - "$work/client.log" "$work/report.json" <<'PY'
import json, re, sys
log = open(sys.argv[1], encoding="utf-8", errors="replace").read()
query = re.search(r"asked the index what it has \(.*?, ([0-9.]+) s\)", log)
try:
    # The run's log comes first on stdout, the JSON report last.
    out = open(sys.argv[2], encoding="utf-8").read()
    report = json.loads(out[out.index("\n{\n") + 1 :] if not out.startswith("{") else out)
    stages = dict(report.get("stages", []))
    verify = stages.get("verify")
    streams = (report.get("parallelism") or "-").split(" at a time")[0]
except (OSError, ValueError):
    verify, streams = None, "-"
fmt = lambda v: "-" if v is None else f"{float(v):.3f}"
print(fmt(query and query.group(1)), fmt(verify), streams)
PY
)
    fi
    awk -F': ' -v extra="$extra" '
        /User time/ {u=$2} /System time/ {s=$2}
        /Maximum resident set size/ {r=$2}
        /Elapsed \(wall clock\)/ {
            n=split($2, p, ":"); w=0; for (i=1; i<=n; i++) w=w*60+p[i]
        }
        END { printf "%.3f %.3f %.1f ok %s\n", w, u+s, r/1024, extra }' "$log"
}

# round setting set tool wall cpu rss status query verify streams load
results=$work/results.tsv
: >"$results"
read -r -a tool_list <<<"$TOOLS"
for round in $(seq 1 "$ROUNDS"); do
    for setting in $SETTINGS; do
        for set in "${sets[@]}"; do
            label=${set%%|*}
            dir=${set#*|}
            want=$(find "$dir" -name '*.whl' | wc -l)
            n=${#tool_list[@]}
            for k in $(seq 0 $((n - 1))); do
                tool=${tool_list[$(((k + round - 1) % n))]}
                pkgs=$work/packages-$tool
                rm -rf -- "$pkgs"
                mkdir -p "$pkgs"
                start_index "$pkgs"
                case "$setting" in
                    loopback) url="http://127.0.0.1:$port/" ;;
                    proxy)
                        pport=$(free_port)
                        "$venv/python" "$repo/bench/delay_proxy.py" --listen "$pport" \
                            --upstream "$port" --rtt-ms "$RTT_MS" --mbit "$MBIT" &
                        pids+=($!)
                        wait_port "$pport"
                        url="http://127.0.0.1:$pport/"
                        ;;
                    *) die "unknown setting $setting (loopback, proxy)" ;;
                esac
                load=$(cut -d' ' -f1 /proc/loadavg)
                printf 'bench: round %s/%s %-8s %-12s %-11s (load %s)\n' "$round" "$ROUNDS" \
                    "$setting" "$label" "$tool" "$load" >&2
                read -r wall cpu rss status query verify streams < <(measure "$tool" "$url" "$dir")
                got=$(find "$pkgs" -name '*.whl' | wc -l)
                if [[ "$status" == ok && "$got" -ne "$want" ]]; then
                    status="only-$got-of-$want-arrived"
                fi
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$setting" \
                    "$label" "$tool" "$wall" "$cpu" "$rss" "$status" "$query" "$verify" \
                    "$streams" "$load" >>"$results"
                if [[ "$setting" == proxy ]]; then
                    stop_last
                fi
                stop_last
                rm -rf -- "$pkgs"
            done
        done
    done
done

describe="sdd-publish $(cd "$repo" && git describe --always --dirty 2>/dev/null || echo unknown) (max-parallel ${INPUT_MAX_PARALLEL:-default}), $("$venv/twine" --version 2>/dev/null | head -1 | cut -d' ' -f1,3), $("$venv/uv" --version 2>/dev/null | cut -d' ' -f1,2), $(curl --version | head -1 | cut -d' ' -f1,2)"
"$venv/python" - "$results" "$ROUNDS" "$RTT_MS" "$MBIT" "$describe" "$(nproc)" <<'PY' | if [[ -n "$OUT" ]]; then tee "$OUT"; else cat; fi
import statistics, sys
from collections import defaultdict

path, rounds, rtt, mbit, describe, cores = sys.argv[1:]
rows = [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]
cases = defaultdict(list)
order = []
for r in rows:
    key = (r[1], r[2], r[3])
    if key not in cases:
        order.append(key)
    cases[key].append(r)

def num(v):
    try:
        return float(v)
    except ValueError:
        return None

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

summary = {}
print("| setting | files | tool | wall s, median (min-max) | CPU s | peak RSS MB | result |")
print("|---|---|---|---:|---:|---:|---|")
for key in sorted(order, key=lambda k: (k[0] != "loopback", k[1], ["curl", "uv", "twine", "sdd-publish"].index(k[2]) if k[2] in ["curl", "uv", "twine", "sdd-publish"] else 9)):
    rs = cases[key]
    ok = [r for r in rs if r[7] == "ok"]
    walls = [num(r[4]) for r in ok]
    w, c, m = med(walls), med(num(r[5]) for r in ok), med(num(r[6]) for r in ok)
    summary[key] = (w, c, m, ok)
    status = "ok" if len(ok) == len(rs) else f"{len(rs) - len(ok)} of {len(rs)} failed: " + ", ".join(sorted({r[7] for r in rs if r[7] != 'ok'}))
    if w is None:
        print(f"| {key[0]} | {key[1]} | {key[2]} | - | - | - | {status} |")
        continue
    print(f"| {key[0]} | {key[1]} | {key[2]} | {w:.2f} ({min(walls):.2f}-{max(walls):.2f}) | {c:.2f} | {m:.1f} | {status} |")

print()
print("| setting | files | sdd-publish / uv (wall) | sdd-publish / curl (wall) | CPU sdd-publish / uv | query + served check s, median | files at once (per round) |")
print("|---|---|---:|---:|---:|---:|---|")
for (setting, files, tool) in order:
    if tool != "sdd-publish" or summary[(setting, files, tool)][0] is None:
        continue
    w, c, m, ok = summary[(setting, files, tool)]
    def ratio(other, i=0):
        o = summary.get((setting, files, other))
        return f"{w / o[0]:.2f}" if o and o[0] and i == 0 else (f"{c / o[1]:.2f}" if o and o[1] else "-")
    fixed = med([num(r[8]) + num(r[9]) for r in ok if num(r[8]) is not None and num(r[9]) is not None])
    streams = " ".join(r[10] for r in ok)
    fixed_s = "-" if fixed is None else f"{fixed:.3f}"
    print(f"| {setting} | {files} | {ratio('uv')} | {ratio('curl')} | {ratio('uv', 1)} | {fixed_s} | {streams} |")

loads = [num(r[11]) for r in rows]
print()
print(f"{len(rows)} measurements, {rounds} round(s), tools in a rotated order; {cores} cores, load average (1 min) "
      f"while measuring: median {med(loads):.2f}, {min(loads):.2f}-{max(loads):.2f}. loopback = straight to "
      f"pypiserver on 127.0.0.1; proxy = through bench/delay_proxy.py, {rtt} ms RTT and {mbit} Mbit/s per "
      f"connection. The sdd-publish rows include its pre-upload index query and its check that the index "
      f"serves every file (install check off). {describe}.")
PY
