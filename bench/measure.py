"""Run a command and append its wall time, CPU time and peak memory to $SDD_BENCH_OUT.

Used by bench/pipeline.sh: the whole-pipeline benchmark wraps the sdd-publish binary that
the action installs with this script. Two memory figures: the command's own peak resident
set (VmHWM, sampled every 10 ms from /proc until it exits) and the largest process among it
and everything it ran (the build frontend, uv), from getrusage(RUSAGE_CHILDREN).
"""
import json
import os
import resource
import subprocess
import sys
import time


def own_peak_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    started = time.monotonic()
    child = subprocess.Popen(sys.argv[1:])
    peak = 0
    while child.poll() is None:
        peak = max(peak, own_peak_kib(child.pid))
        time.sleep(0.01)
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {
        "args": sys.argv[2:],
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "own_peak_rss_kib": peak,
        "largest_process_rss_kib": usage.ru_maxrss,
        "exit": child.returncode,
    }
    with open(os.environ["SDD_BENCH_OUT"], "a") as out:
        out.write(json.dumps(record) + "\n")
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
