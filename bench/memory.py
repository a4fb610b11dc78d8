"""Peak memory of the sdd-publish binary on the largest inputs a hostile index or archive
can hand it (issue 15, item 5): a 62 MB PEP 691 project page, the same as PEP 503 HTML, a
wheel of 300 000 members (refused), and one of 65 535 (the member limit, accepted).

Each figure is the binary's own peak resident set, from getrusage(RUSAGE_CHILDREN) in a
fresh Python parent that runs nothing else. The index is a small loopback server in this
process: it accepts uploads and serves the page (listing our files once uploaded).

Usage: tools venv python bench/memory.py [BIN]
  BIN defaults to target/release/sdd-publish (`cargo build --release` first); prints one
  Markdown table.
"""
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_big_wheel import big_wheel  # noqa: E402  (shared with tests/it/hostile.rs)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/sdd-publish")
PY = sys.executable
MIB = 1024 * 1024

MEASURE = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(r.returncode)
"""


def measured(cmd, env, cwd):
    """(exit code, peak KiB, seconds) of `cmd`."""
    with tempfile.NamedTemporaryFile("r", delete=False) as f:
        out = f.name
    t = time.monotonic()
    code = subprocess.call([PY, "-c", MEASURE, out] + cmd, env=env, cwd=cwd)
    secs = time.monotonic() - t
    kib = int(open(out).read().strip() or 0)
    os.unlink(out)
    return code, kib, secs


def build_fixture(work):
    src = os.path.join(work, "src")
    shutil.copytree(os.path.join(ROOT, "tests/fixtures/improved-sdd"), src,
                    ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__"))
    dist = os.path.join(work, "dist")
    subprocess.check_call([PY, "-m", "build", "--no-isolation", "--outdir", dist, src],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return dist


def pep691_page(files):
    parts = ['{"meta":{"api-version":"1.1"},"name":"improved-sdd","files":[']
    size, i = 0, 0
    while size < 62_000_000:
        e = ('{"filename":"improved_sdd-0.0.%d-py3-none-any.whl","url":"https://files.example/'
             'packages/aa/bb/cc/improved_sdd-0.0.%d-py3-none-any.whl","hashes":{"sha256":"%064x"},'
             '"requires-python":">=3.9","yanked":false,"size":1234},' % (i, i, i))
        parts.append(e)
        size += len(e)
        i += 1
    head = "".join(parts).encode()
    ours = "".join('{"filename":"%s","url":"/packages/%s","hashes":{"sha256":"%s"}},' % (f, f, s)
                   for f, s in files).encode()
    tail = b'{"filename":"improved_sdd-0.0.0.tar.gz","hashes":{}}]}'
    return head + tail, head + ours + tail, "application/vnd.pypi.simple.v1+json", i


def pep503_page(files):
    parts = ["<!DOCTYPE html><html><body>\n"]
    size, i = 0, 0
    while size < 62_000_000:
        e = ('<a href="https://files.example/packages/aa/bb/improved_sdd-0.0.%d-py3-none-any.whl'
             '#sha256=%064x" data-requires-python="&gt;=3.9">improved_sdd-0.0.%d-py3-none-any.whl'
             '</a><br/>\n' % (i, i, i))
        parts.append(e)
        size += len(e)
        i += 1
    head = "".join(parts).encode()
    ours = "".join('<a href="/packages/%s#sha256=%s">%s</a>\n' % (f, s, f) for f, s in files).encode()
    return head + b"</body></html>", head + ours + b"</body></html>", "text/html", i


def serve(before, after, content_type):
    state = {"uploaded": False}

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", 0))
            while n > 0:
                n -= len(self.rfile.read(min(n, 1 << 16)))
            state["uploaded"] = True
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")

        def do_GET(self):
            if self.path != "/simple/improved-sdd/":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = after if state["uploaded"] else before
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def run_env(work, port):
    out = os.path.join(work, "out")
    open(out, "w").close()
    event = os.path.join(work, "event.json")
    json.dump({"ref": "refs/tags/v0.1.0", "repository": {"full_name": "o/r", "default_branch": "main"}},
              open(event, "w"))
    return {
        "PATH": os.environ["PATH"], "HOME": work, "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/tags/v0.1.0", "GITHUB_EVENT_PATH": event,
        "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "0" * 40, "GITHUB_OUTPUT": out,
        "GITHUB_WORKSPACE": work, "RUNNER_TEMP": work, "INPUT_MODE": "pypi",
        "INPUT_PYPI_URL": "http://127.0.0.1:%d/legacy/" % port,
        "INPUT_PYPI_INDEX_URL": "http://127.0.0.1:%d/simple/" % port,
        "INPUT_PYPI_TOKEN": "pypi-bench-token-0123456789", "INPUT_RELEASE": "false",
        "INPUT_ATTESTATIONS": "false", "INPUT_VERIFY_INSTALL": "false",
        "SDD_PUBLISH_VERIFY_INTERVAL_MS": "200",
    }


def main():
    if not os.access(BIN, os.X_OK):
        sys.exit("missing %s: run cargo build --release" % BIN)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fixture = build_fixture(os.path.join(tmp, "fixture"))
        names = sorted(os.listdir(fixture))
        files = [(f, hashlib.sha256(open(os.path.join(fixture, f), "rb").read()).hexdigest()) for f in names]
        for label, make in [("PEP 691 JSON page", pep691_page), ("PEP 503 HTML page", pep503_page)]:
            before, after, ct, n = make(files)
            srv = serve(before, after, ct)
            work = os.path.join(tmp, label.split()[1])
            shutil.copytree(fixture, os.path.join(work, "dist"))
            code, kib, secs = measured([BIN, "run"], run_env(work, srv.server_address[1]), work)
            srv.shutdown()
            rows.append(("`run`, %s of %.0f MB (%d files of other versions)" % (label, len(after) / 1e6, n),
                         code, kib, secs))
        for n, note in [(300_000, "refused"), (65_532, "accepted")]:
            d = os.path.join(tmp, "w%d" % n)
            os.makedirs(d)
            wheel = os.path.join(d, "improved_sdd-0.1.0-py3-none-any.whl")
            big_wheel(wheel, n)
            code, kib, secs = measured([BIN, "check", d], dict(os.environ), d)
            rows.append(("`check`, a wheel of %d members (%s)" % (n + 3, note), code, kib, secs))
            # The whole run with that wheel: check, upload, verify.
            work = os.path.join(tmp, "run%d" % n)
            os.makedirs(os.path.join(work, "dist"))
            shutil.copy(wheel, os.path.join(work, "dist"))
            shutil.copy(os.path.join(fixture, [f for f in names if f.endswith(".tar.gz")][0]),
                        os.path.join(work, "dist"))
            ours = [(f, hashlib.sha256(open(os.path.join(work, "dist", f), "rb").read()).hexdigest())
                    for f in sorted(os.listdir(os.path.join(work, "dist")))]
            page = "".join('<a href="/packages/%s#sha256=%s">%s</a>\n' % (f, s, f) for f, s in ours)
            srv = serve(b"<html></html>", page.encode(), "text/html")
            code, kib, secs = measured([BIN, "run"], run_env(work, srv.server_address[1]), work)
            srv.shutdown()
            rows.append(("`run`, the same wheel (%s)" % note, code, kib, secs))
    print("| input | exit | peak RSS | wall |")
    print("|---|---:|---:|---:|")
    for what, code, kib, secs in rows:
        print("| %s | %d | %.1f MiB | %.1f s |" % (what, code, kib / 1024, secs))


if __name__ == "__main__":
    main()
