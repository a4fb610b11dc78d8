#!/usr/bin/env bash
# Benchmark: `sdd-publish check --strict` vs `twine check --strict` over the same files —
# the real distributions cached by scripts/real-dists plus the passing files of the
# generated corpus (twine crashes on some failing ones). Prints wall time per run.
#
# Usage: bench/check.sh [RUNS]     (default 3; needs scripts/real-dists run once, and a
#                                   release build: cargo build --release)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="${SDD_TOOLS:-$root/.tools}"
py="$tools/venv/bin/python"
bin="${SDD_PUBLISH_BIN:-$root/target/release/sdd-publish}"
cache="${SDD_REAL_DISTS:-$HOME/.cache/sdd-publish/real-dists}"
runs="${1:-3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" "$root/tests/corpus/make.py" "$tmp/corpus" >/dev/null
mapfile -t files < <( { find "$cache" -type f \( -name '*.whl' -o -name '*.tar.gz' \);
  find "$tmp/corpus" -path '*/pass*' -type f \( -name '*.whl' -o -name '*.tar.gz' \); } | sort)
bytes=$(du -cb "${files[@]}" | tail -1 | cut -f1)
echo "files: ${#files[@]} ($((bytes / 1024 / 1024)) MiB); runs: $runs; $(nproc) cores"
export SDD_PUBLISH_PYTHON="$py"
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
# Where the time goes: "no-rst" runs the same check with no reStructuredText renderer (each
# rst description then gets `description-unchecked`), i.e. the Rust side alone.
for i in $(seq "$runs"); do
  a=$(t "$bin" check --strict "${files[@]}")
  r=$(SDD_PUBLISH_PYTHON=/nonexistent t "$bin" check --strict "${files[@]}")
  b=$(t "$tools/venv/bin/twine" check --strict "${files[@]}")
  printf 'run %d: sdd-publish check %.2fs (no-rst %.2fs), twine check %.2fs; ratio %.1fx (no-rst %.1fx)\n' \
    "$i" "$a" "$r" "$b" "$(echo "$b / $a" | bc -l)" "$(echo "$b / $r" | bc -l)"
done
