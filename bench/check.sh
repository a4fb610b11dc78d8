#!/usr/bin/env bash
# Benchmark: `sdd-publish check --strict` vs `twine check --strict` on the same files, both
# rendering reStructuredText with the same renderer (the tools venv's readme_renderer, which
# twine uses; SDD_PUBLISH_PYTHON points `check` at it). Two workloads:
#   release  20 wheels of one project sharing a ~20 KB rst README (bench/make_check_wheels.py):
#            twine renders it 20 times, `check` once.
#   real     every distribution cached by scripts/real-dists (run it once first; it downloads
#            wheels and sdists of popular projects with pip): distinct files, each its own
#            release. `check` runs once over all of them; so does twine (one process).
# Prints one Markdown row per run and workload: wall seconds for each tool and the ratio;
# "rst off" is `check` with SDD_PUBLISH_RENDERER=skip (the Rust side alone).
#
# Usage: bench/check.sh [RUNS]   (default 3; needs `cargo build --release` and scripts/tools)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="${SDD_TOOLS:-$root/.tools}"
py="$tools/venv/bin/python"
bin="${SDD_PUBLISH_BIN:-$root/target/release/sdd-publish}"
cache="${SDD_REAL_DISTS:-$HOME/.cache/sdd-publish/real-dists}"
runs="${1:-3}"
[ -x "$bin" ] || { echo "missing $bin: run cargo build --release" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" "$root/bench/make_check_wheels.py" "$tmp/release" >&2
mapfile -t release < <(find "$tmp/release" -name '*.whl' | sort)
mapfile -t real < <(find "$cache" -type f \( -name '*.whl' -o -name '*.tar.gz' \) 2>/dev/null | sort)
[ "${#real[@]}" -gt 0 ] || { echo "no real distributions in $cache: run scripts/real-dists" >&2; exit 2; }
mib() { echo $(( $(du -cb "$@" | tail -1 | cut -f1) / 1024 / 1024 )); }
echo "release: ${#release[@]} wheels; real: ${#real[@]} files ($(mib "${real[@]}") MiB); runs: $runs; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
export SDD_PUBLISH_PYTHON="$py"
# Wall and CPU seconds (user + system, the renderer processes included: `check` reaps them).
# The exit code goes to $tmp/rc: a tool that crashed or refused to run is not a fast time.
t() {
  local rc=0
  /usr/bin/time -q -f '%e %U %S' -o "$tmp/time" "$@" >"$tmp/out" 2>&1 || rc=$?
  echo "$rc" >"$tmp/rc"
  awk '{printf "%.2f %.2f", $1, $2 + $3}' "$tmp/time"
}
# Exit 0 (all passed) on the clean release; 0 or 1 (a verdict on some file) on the real
# corpus, where some files fail --strict for both tools. Anything else stops the benchmark.
expect_rc() {
  local what=$1 workload=$2 rc
  rc=$(cat "$tmp/rc")
  if [ "$rc" -ne 0 ] && { [ "$workload" = release ] || [ "$rc" -ne 1 ]; }; then
    echo "bench/check.sh: $what exited $rc on the $workload workload; its output:" >&2
    tail -20 "$tmp/out" >&2
    exit 1
  fi
}
echo "| workload | run | \`sdd-publish check --strict\` wall (CPU) | rst off | \`twine check --strict\` wall (CPU) | ratio wall (CPU) |"
echo "|---|---|---|---|---|---|"
for i in $(seq "$runs"); do
  for w in release real; do
    if [ "$w" = release ]; then files=("${release[@]}"); target=("$tmp/release"); else files=("${real[@]}"); target=("${real[@]}"); fi
    read -r aw ac <<<"$(t "$bin" check --strict "${target[@]}")"
    expect_rc "sdd-publish check" "$w"
    read -r rw _ <<<"$(SDD_PUBLISH_RENDERER=skip t "$bin" check --strict "${target[@]}")"
    expect_rc "sdd-publish check (rst off)" "$w"
    read -r bw bc_ <<<"$(t "$tools/venv/bin/twine" check --strict "${files[@]}")"
    expect_rc "twine check" "$w"
    printf '| %s (%d files) | %d | %.2f s (%.2f s) | %.2f s | %.2f s (%.2f s) | %.1f× (%.1f×) |\n' \
      "$w" "${#files[@]}" "$i" "$aw" "$ac" "$rw" "$bw" "$bc_" \
      "$(echo "$bw / $aw" | bc -l)" "$(echo "$bc_ / $ac" | bc -l)"
  done
done
