#!/usr/bin/env bash
# The whole tag pipeline, end to end, timed and measured: examples/publish.yml (unmodified)
# under act for a `v0.1.0` tag push of the improved-sdd fixture — the gate waits for "Test
# Suite" and "Security Scan" on the GitHub API double, `python -m build` runs isolated from a
# local wheelhouse, the dists are checked, uploaded to pypiserver, verified (served with our
# sha256, installed by uv, `improved-sdd --help`), and the GitHub Release is created with
# both assets. Everything is on loopback.
#
#   bench/pipeline.sh [rounds]      (default 5; each round is a fresh world)
#
# Prints one table: medians (and max) over the rounds of the act job's wall time, the
# sdd-publish process's wall and CPU time, its own peak RSS, and the largest process of the
# pipeline (the build frontend or uv), plus each stage's time from the step summary.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$repo"
tools=${SDD_TOOLS:-$repo/.tools}
rounds=${1:-5}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "error: rounds must be a positive number, got '$rounds'" >&2; exit 2; }

"$repo/scripts/tools" >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "building (release) and running $rounds round(s)..." >&2
SDD_BENCH_ROUNDS=$rounds cargo test --release --locked --test it \
    act_example::bench_whole_tag_pipeline -- --ignored --exact --nocapture --test-threads 1 |
    grep -o '{".*"act_wall_s".*}' >"$out"  # whatever order serde_json writes the keys in

"$tools/venv/bin/python" - "$out" <<'PY'
import json, re, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1])]
if not rows:
    sys.exit("error: no rounds recorded")

def stat(values, fmt):
    return f"{fmt(statistics.median(values))} (max {fmt(max(values))})"

secs = lambda v: f"{v:.2f} s"
mib = lambda v: f"{v / 1024:.1f} MiB"
print(f"rounds: {len(rows)}\n")
print("| measure | median (max) |\n|---|---|")
print(f"| act: the whole job (set-up, install, gate, build, check, upload, verify, release, later job) | {stat([r['act_wall_s'] for r in rows], secs)} |")
sp = [r["sdd_publish"] for r in rows]
print(f"| sdd-publish run: wall | {stat([s['wall_s'] for s in sp], secs)} |")
print(f"| sdd-publish run: CPU (with the build and uv it ran) | {stat([s['cpu_s'] for s in sp], secs)} |")
print(f"| sdd-publish: own peak RSS | {stat([s['own_peak_rss_kib'] for s in sp], mib)} |")
print(f"| largest process in the run (build frontend / uv) | {stat([s['largest_process_rss_kib'] for s in sp], mib)} |")
stages = {}
for r in rows:
    for name, value in re.findall(r"(?:\| |· )(?:\*\*)?([a-z]+) ([0-9.]+)s", r["stages"]):
        stages.setdefault(name, []).append(float(value))
for name, values in stages.items():
    print(f"| stage `{name}` | {stat(values, secs)} |")
PY
