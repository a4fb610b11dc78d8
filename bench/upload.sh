#!/usr/bin/env bash
# Upload benchmark: the same files to a local pypiserver with `sdd-publish`, `twine upload`
# and `uv publish`, in one run, directly on loopback and through a proxy that adds round-trip
# delay and a per-connection bandwidth cap (what a CI runner talking to PyPI sees).
# For each tool it measures wall time, client CPU time (user+sys) and peak RSS with
# GNU time (`/usr/bin/time -v`), and prints a Markdown table.
#
#   bench/upload.sh                          # 20 x 20 MB wheels, one 500 MB wheel, both settings
#   COUNT=5 SIZE_MB=10 BIG_MB=100 bench/upload.sh     # a quicker run
#
# Settings (environment): COUNT (20), SIZE_MB (20), BIG_MB (500; 0 skips the big file),
# RTT_MS (50), MBIT (100, per connection), SETTINGS ("loopback proxy"), TOOLS
# ("sdd-publish twine uv"), OUT (also write the table there), WORK (scratch dir; default a
# temp dir, removed at the end), INPUT_MAX_PARALLEL (passed through to sdd-publish).
# Needs: cargo, $SDD_TOOLS (default <repo>/.tools) with pypiserver, passlib, twine and uv
# (scripts/tools installs them), and GNU time (Debian: apt-get install -y time).
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
tools=${SDD_TOOLS:-$repo/.tools}
venv=$tools/venv/bin
COUNT=${COUNT:-20}
SIZE_MB=${SIZE_MB:-20}
BIG_MB=${BIG_MB:-500}
RTT_MS=${RTT_MS:-50}
MBIT=${MBIT:-100}
SETTINGS=${SETTINGS:-loopback proxy}
TOOLS=${TOOLS:-sdd-publish twine uv}
OUT=${OUT:-}

die() { printf 'bench: %s\n' "$*" >&2; exit 2; }

for t in python pypi-server twine uv; do
    [[ -x "$venv/$t" ]] || die "$venv/$t is missing: run scripts/tools (SDD_TOOLS=$tools)"
done
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

# Data sets: name|dir|files
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

# One measured upload: tool, url, dir -> "wall cpu rss"; the files must all arrive.
measure() {
    local tool=$1 url=$2 dir=$3 log=$work/time.txt
    local files=("$dir"/*.whl)
    local status=0
    case "$tool" in
        sdd-publish)
            (cd "$work" && env -i PATH="$PATH" HOME="$work" INPUT_MODE=pypi \
                INPUT_PYPI_URL="$url" INPUT_PYPI_TOKEN="$token" INPUT_PACKAGES_DIR="$dir" \
                INPUT_MAX_PARALLEL="${INPUT_MAX_PARALLEL:-}" INPUT_VERIFY_INSTALL=false \
                /usr/bin/time -v -o "$log" "$sdd" run) >"$work/client.log" 2>&1 || status=$?
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
    esac
    if [[ $status -ne 0 ]]; then
        printf 'bench: %s failed (exit %s):\n' "$tool" "$status" >&2
        tail -20 "$work/client.log" >&2
        echo "- - - FAILED"
        return
    fi
    awk -F': ' '
        /User time/ {u=$2} /System time/ {s=$2}
        /Maximum resident set size/ {r=$2}
        /Elapsed \(wall clock\)/ {
            n=split($2, p, ":"); w=0; for (i=1; i<=n; i++) w=w*60+p[i]
        }
        END { printf "%.2f %.2f %.1f ok\n", w, u+s, r/1024 }' "$log"
}

rows=()
for setting in $SETTINGS; do
    for set in "${sets[@]}"; do
        label=${set%%|*}
        dir=${set#*|}
        want=$(find "$dir" -name '*.whl' | wc -l)
        for tool in $TOOLS; do
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
            printf 'bench: %-8s %-14s %s\n' "$setting" "$label" "$tool" >&2
            read -r wall cpu rss result < <(measure "$tool" "$url" "$dir")
            got=$(find "$pkgs" -name '*.whl' | wc -l)
            if [[ "$result" == ok && "$got" -ne "$want" ]]; then
                result="only $got of $want files arrived"
            fi
            rows+=("| $setting | $label | $tool | $wall | $cpu | $rss | $result |")
            if [[ "$setting" == proxy ]]; then
                stop_last
            fi
            stop_last
            rm -rf -- "$pkgs"
        done
    done
done

setting_note="loopback = straight to pypiserver on 127.0.0.1; proxy = through bench/delay_proxy.py, ${RTT_MS} ms RTT and ${MBIT} Mbit/s per connection"
{
    printf '| setting | files | tool | wall s | CPU s (user+sys) | peak RSS MB | result |\n'
    printf '|---|---|---|---:|---:|---:|---|\n'
    printf '%s\n' "${rows[@]}"
    printf '\n%s. sdd-publish: %s (INPUT_MAX_PARALLEL=%s); %s; %s.\n' "$setting_note" \
        "$(cd "$repo" && git describe --always --dirty 2>/dev/null || echo unknown)" \
        "${INPUT_MAX_PARALLEL:-unset}" "$("$venv/twine" --version 2>/dev/null | head -1 | cut -d' ' -f1,3)" \
        "$("$venv/uv" --version 2>/dev/null)"
} | if [[ -n "$OUT" ]]; then tee "$OUT"; else cat; fi
