# The reference reStructuredText renderer behind `sdd-publish check`, embedded in the
# binary and run with `python -c`. It speaks line-delimited JSON: first one hello line
# ({"hello": {...}}, with "unavailable" when readme_renderer cannot be imported), then for
# each request line {"id": N, "text": "..."} one reply {"id": N, "ok": bool, "messages": "..."}.
# It renders exactly as PyPI does at upload: readme_renderer.rst.render, whose None means
# "The description failed to render".
import gc
import io
import json
import os
import sys

# docutils builds a tree full of reference cycles per render, so Python's cyclic collector
# runs every few hundred allocations and walks the whole heap each time it reaches the old
# generation: 10-15% of the CPU of a run. It is off while rendering and run once per this
# many characters rendered instead, which bounds the garbage (about 150 bytes per
# character) without walking the heap on every render. Collection timing cannot change a
# verdict.
COLLECT_EVERY = 1 << 20


def dist_version(module, dist):
    # From the .dist-info beside the package: importing importlib.metadata would cost a
    # third of the renderer's whole start, in every worker.
    site = os.path.dirname(os.path.dirname(module.__file__))
    for name in os.listdir(site):
        if name.lower().startswith(dist + "-") and name.endswith(".dist-info"):
            return name[len(dist) + 1 : -len(".dist-info")]
    return None


def main():
    proto = sys.stdout
    # Nothing but replies may reach the protocol stream: anything a renderer prints goes to
    # stderr instead.
    sys.stdout = sys.stderr

    def send(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    info = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "executable": sys.executable,
        "prefix": sys.prefix,
    }
    try:
        import docutils
        import readme_renderer
        from readme_renderer.rst import render

        info["readme_renderer"] = dist_version(readme_renderer, "readme_renderer")
        info["docutils"] = docutils.__version__
    except Exception as e:  # ImportError, or a broken install
        info["unavailable"] = "%s: %s" % (type(e).__name__, e)
        send({"hello": info})
        return
    send({"hello": info})

    # What the imports made lives as long as the process: out of the collector's sight.
    gc.freeze()
    gc.disable()
    rendered = 0
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        req = json.loads(line.decode("utf-8"))
        stream = io.StringIO()
        reply = {"id": req["id"]}
        # One text this long makes its own garbage worth collecting while it renders.
        if len(req["text"]) >= COLLECT_EVERY:
            gc.enable()
        try:
            reply["ok"] = render(req["text"], stream=stream) is not None
        except Exception as e:  # PyPI would answer 500: the upload fails all the same
            reply["ok"] = False
            reply["raised"] = "%s: %s" % (type(e).__name__, e)
        gc.disable()
        reply["messages"] = stream.getvalue()
        send(reply)
        rendered += len(req["text"])
        if rendered >= COLLECT_EVERY:
            gc.collect()
            rendered = 0


main()
