# The reference reStructuredText renderer behind `sdd-publish check`, embedded in the
# binary and run with `python -c`. It speaks line-delimited JSON: first one hello line
# ({"hello": {...}}, with "unavailable" when readme_renderer cannot be imported), then for
# each request line {"id": N, "text": "..."} one reply {"id": N, "ok": bool, "messages": "..."}.
# It renders exactly as PyPI does at upload: readme_renderer.rst.render, whose None means
# "The description failed to render".
import io
import json
import sys


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
        from importlib.metadata import version

        from readme_renderer.rst import render

        info["readme_renderer"] = version("readme-renderer")
        info["docutils"] = version("docutils")
    except Exception as e:  # ImportError, or a broken install
        info["unavailable"] = "%s: %s" % (type(e).__name__, e)
        send({"hello": info})
        return
    send({"hello": info})

    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        req = json.loads(line.decode("utf-8"))
        stream = io.StringIO()
        reply = {"id": req["id"]}
        try:
            reply["ok"] = render(req["text"], stream=stream) is not None
        except Exception as e:  # PyPI would answer 500: the upload fails all the same
            reply["ok"] = False
            reply["raised"] = "%s: %s" % (type(e).__name__, e)
        reply["messages"] = stream.getvalue()
        send(reply)


main()
