"""Generate one release of 20 wheels sharing a reStructuredText README of about 20 KB, the
shape of a real project's release (one README, a wheel per Python and platform).

    python make_check_wheels.py OUTDIR [--count 20] [--readme-kb 20]

The README uses what real ones do: sections, inline markup, references, footnotes, lists,
highlighted code blocks, literal blocks, tables, admonitions and a table of contents — so
docutils and Pygments do real work. It renders cleanly (a passing release).
"""

import argparse
import base64
import hashlib
import itertools
import pathlib
import zipfile

PYTHONS = ["cp39", "cp310", "cp311", "cp312", "cp313"]
PLATFORMS = ["manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "win_amd64", "macosx_11_0_arm64"]


def readme(size):
    parts = [
        "benchpkg\n========\n\n"
        ".. image:: https://img.shields.io/pypi/v/benchpkg.svg\n   :target: https://pypi.org/project/benchpkg/\n\n"
        "A package whose README exercises what real ones use.\n\n"
        ".. contents:: Table of contents\n   :depth: 2\n\n"
    ]
    i = 0
    while sum(map(len, parts)) < size:
        i += 1
        title = f"Section {i}"
        parts.append(
            f"{title}\n{'-' * len(title)}\n\n"
            f"Paragraph with *emphasis*, **strong**, ``literal`` and a `link <https://example.org/{i}>`_ "
            f"and a reference to `Section {max(1, i - 1)}`_. Footnote [#f{i}]_.\n\n"
            f".. [#f{i}] A footnote for section {i}.\n\n"
            "* item one\n* item two with ``code``\n\n  * nested item\n\n"
            "1. first\n2. second\n\n"
            ".. code-block:: python\n\n"
            f"    def f{i}(x: int) -> int:\n        \"\"\"Docstring.\"\"\"\n        return x * {i}  # comment\n\n"
            "Literal block::\n\n    $ pip install benchpkg\n\n"
            "+--------+--------+\n| head 1 | head 2 |\n+========+========+\n| a      | b      |\n+--------+--------+\n\n"
            ".. note::\n\n   A note with a :code:`role`.\n\n"
        )
    return "".join(parts)


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(path, tag, body):
    info = "benchpkg-1.0.0.dist-info"
    files = {
        "benchpkg/__init__.py": b"__version__ = '1.0.0'\n",
        f"{info}/METADATA": (
            "Metadata-Version: 2.1\nName: benchpkg\nVersion: 1.0.0\nSummary: Benchmark package\n"
            "Description-Content-Type: text/x-rst\n\n" + body
        ).encode(),
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: make_check_wheels\nRoot-Is-Purelib: false\nTag: {tag}\n".encode(),
    }
    record = "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, d in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(zipfile.ZipInfo(n, (2024, 1, 1, 0, 0, 0)), d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--readme-kb", type=int, default=20)
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    body = readme(a.readme_kb * 1000)
    tags = [f"{py}-{py}-{plat}" for py, plat in itertools.product(PYTHONS, PLATFORMS)][: a.count]
    for tag in tags:
        write_wheel(out / f"benchpkg-1.0.0-{tag}.whl", tag, body)
    print(f"{len(tags)} wheels sharing a {len(body)} byte README in {out}")


if __name__ == "__main__":
    main()
