#!/usr/bin/env python3
"""Generate the `check` test corpus: one folder per case, named `<rule>/<pass|fail>-<what>`,
and `expected.json` mapping each case's files to the exact rule ids `sdd-publish check`
must report for them (empty list: the file passes).

Usage: tests/corpus/make.py OUTDIR        (standard library only; deterministic)

Cases whose expectation depends on options (`--tag`, `--strict`) or on the environment
(rendering skipped) carry "args"/"env" keys; tests/it/check.rs runs them separately.
"""
import io
import json
import os
import sys
import tarfile
import zipfile

OUT = sys.argv[1] if len(sys.argv) > 1 else "corpus"
CASES = {}
FIXED_TIME = (2024, 1, 1, 0, 0, 0)

GOOD_BODY = "# Title\n\nSome *text*.\n"


def meta(name="pkg", version="1.0", mv="2.1", headers=(), body=GOOD_BODY,
         ct="text/markdown"):
    lines = [f"Metadata-Version: {mv}", f"Name: {name}", f"Version: {version}",
             "Summary: A package"]
    if ct is not None:
        lines.append(f"Description-Content-Type: {ct}")
    lines += list(headers)
    text = "\n".join(lines) + "\n"
    if body is not None:
        text += "\n" + body
    return text.encode("utf-8")


def wheel_bytes(prefix, metadata, extra=(), omit=(), method=zipfile.ZIP_DEFLATED,
                raw_extra=()):
    """A wheel whose .dist-info is `{prefix}.dist-info`; `extra` are (name, bytes)."""
    buf = io.BytesIO()
    import warnings
    warnings.simplefilter("ignore")  # duplicate-name cases
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name, data, m=zipfile.ZIP_DEFLATED):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = m
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
        pkg = prefix.split("-")[0].lower()
        put(f"{pkg}/__init__.py", b"", method)
        files = {
            f"{prefix}.dist-info/METADATA": metadata,
            f"{prefix}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: make.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            f"{prefix}.dist-info/RECORD": b"",
        }
        for name, data in files.items():
            if name.rsplit("/", 1)[1] not in omit:
                put(name, data)
        for name, data in extra:
            put(name, data, method)
        for info, data in raw_extra:
            z.writestr(info, data)
    return buf.getvalue()


def sdist_bytes(top, pkg_info, extra=(), members=None, fmt=tarfile.PAX_FORMAT):
    """An sdist with top-level dir `top`; `members` replaces the default list of TarInfos."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=fmt) as t:
        def add(name, data, **kw):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1704067200
            for k, v in kw.items():
                setattr(info, k, v)
            t.addfile(info, io.BytesIO(data) if data else None)
        if members is not None:
            for name, data, kw in members:
                add(name, data, **kw)
        else:
            if pkg_info is not None:
                add(f"{top}/PKG-INFO", pkg_info)
            add(f"{top}/pyproject.toml", b"[project]\n")
            for name, data in extra:
                add(f"{top}/{name}", data)
    return buf.getvalue()


def sparse_sdist(top, pkg_info):
    """An sdist holding one GNU sparse member ('S'). Python's tarfile writes the type flag
    but leaves the GNU realsize field empty, so the header is completed by hand."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data, ty in [(f"{top}/PKG-INFO", pkg_info, tarfile.REGTYPE),
                               (f"{top}/pyproject.toml", b"", tarfile.REGTYPE),
                               (f"{top}/sparse.bin", b"", tarfile.GNUTYPE_SPARSE)]:
            info = tarfile.TarInfo(name)
            info.size, info.type, info.mtime = len(data), ty, 1704067200
            t.addfile(info, io.BytesIO(data) if data else None)
    buf = bytearray(raw.getvalue())
    off = 0
    while off < len(buf):
        header = buf[off:off + 512]
        if header[156:157] == b"S":
            buf[off + 483:off + 495] = b"%011o\0" % 0
            buf[off + 148:off + 156] = b" " * 8
            buf[off + 148:off + 156] = b"%06o\0 " % sum(buf[off:off + 512])
        size = int(header[124:136].strip(b"\0 ") or b"0", 8) if header.strip(b"\0") else 0
        off += 512 + (size + 511) // 512 * 512
    import gzip
    return gzip.compress(bytes(buf), mtime=0)


def case(name, files, **opts):
    """files: {relative path: (bytes, [expected rules])}."""
    CASES[name] = {"files": {p: sorted(set(r)) for p, (_, r) in files.items() if r is not None},
                   **opts}
    base = os.path.join(OUT, name)
    for rel, (data, _) in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def good_wheel(name="pkg", version="1.0", **kw):
    esc = name.lower().replace("-", "_").replace(".", "_")
    return wheel_bytes(f"{esc}-{version}", meta(name, version, **kw))


def good_sdist(name="pkg", version="1.0", **kw):
    esc = name.lower().replace("-", "_").replace(".", "_")
    return sdist_bytes(f"{esc}-{version}", meta(name, version, **kw))


W = "pkg-1.0-py3-none-any.whl"
S = "pkg-1.0.tar.gz"


def meta_case(rule, what, headers, ok, mv="2.1", **kw):
    rules = [] if ok else [rule]
    data = wheel_bytes("pkg-1.0", meta(mv=mv, headers=headers, **kw))
    case(f"{rule}/{'pass' if ok else 'fail'}-{what}", {W: (data, rules)})


def main():
    # --- a clean release ---------------------------------------------------------------
    case("ok/pass-release", {
        W: (good_wheel(), []),
        "pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": (
            wheel_bytes("pkg-1.0", meta()), []),
        S: (good_sdist(), []),
        ".gitignore": (b"*\n", None),
        f"{W}.publish.attestation": (b"{}", None),
    })
    CASES["ok/pass-release"]["ignored"] = 2

    # --- discovery -----------------------------------------------------------------------
    case("unsupported-format/fail-zip-egg-bz2", {
        "pkg-1.0.zip": (b"PK\x05\x06" + b"\0" * 18, ["unsupported-format"]),
        "pkg-1.0-py3.12.egg": (b"x", ["unsupported-format"]),
        "pkg-1.0.tar.bz2": (b"x", ["unsupported-format"]),
    })
    case("unsupported-format/pass-wheel", {W: (good_wheel(), [])})
    case("duplicate-filename/fail-two-folders", {
        f"a/{W}": (good_wheel(), ["duplicate-filename"]),
        f"b/{W}": (good_wheel(), ["duplicate-filename"]),
    })
    case("duplicate-filename/pass-sub-folders", {
        f"wheels/{W}": (good_wheel(), []), f"sdist/{S}": (good_sdist(), [])})

    # --- filenames -----------------------------------------------------------------------
    case("filename-invalid/fail-parts", {"pkg.whl": (good_wheel(), ["filename-invalid"])})
    case("filename-invalid/fail-build-tag", {
        "pkg-1.0-x1-py3-none-any.whl": (good_wheel(), ["filename-invalid"])})
    case("filename-invalid/pass-build-tag", {
        "pkg-1.0-1-py3-none-any.whl": (good_wheel(), [])})
    case("filename-not-normalized/fail-wheel", {
        "My.Pkg-1.0-py3-none-any.whl": (
            wheel_bytes("My.Pkg-1.0", meta("My.Pkg")), ["filename-not-normalized"])})
    case("filename-not-normalized/pass-wheel", {
        "my_pkg-1.0-py3-none-any.whl": (good_wheel("My.Pkg"), [])})
    case("sdist-filename-pep625/fail-dash", {
        "my-pkg-1.0.tar.gz": (sdist_bytes("my-pkg-1.0", meta("my-pkg")), ["sdist-filename-pep625"])})
    case("sdist-filename-pep625/fail-version-not-normalized", {
        "pkg-1.0-rc1.tar.gz": (sdist_bytes("pkg-1.0rc1", meta(version="1.0rc1")),
                               ["sdist-filename-pep625", "filename-invalid"])})
    case("sdist-filename-pep625/pass", {"my_pkg-1.0.tar.gz": (good_sdist("my-pkg"), [])})
    case("wheel-platform-unsupported/fail-linux", {
        "pkg-1.0-cp312-cp312-linux_x86_64.whl": (good_wheel(), ["wheel-platform-unsupported"])})
    case("wheel-platform-unsupported/fail-macos-minor", {
        "pkg-1.0-cp312-cp312-macosx_11_2_arm64.whl": (good_wheel(), ["wheel-platform-unsupported"])})
    case("wheel-platform-unsupported/pass-musllinux-macos", {
        "pkg-1.0-cp312-cp312-musllinux_1_2_aarch64.whl": (good_wheel(), []),
        "pkg-1.0-cp312-cp312-macosx_11_0_arm64.whl": (good_wheel(), []),
        "pkg-1.0-cp312-cp312-win_amd64.whl": (good_wheel(), []),
    })
    case("name-mismatch/fail", {
        "other-1.0-py3-none-any.whl": (wheel_bytes("other-1.0", meta("pkg")), ["name-mismatch"])})
    case("name-mismatch/pass", {W: (good_wheel(), [])})
    case("version-mismatch/fail", {
        "pkg-2.0-py3-none-any.whl": (wheel_bytes("pkg-2.0", meta()), ["version-mismatch"])})
    case("version-mismatch/pass-pep440-equal", {
        "pkg-1.0.0-py3-none-any.whl": (wheel_bytes("pkg-1.0.0", meta(version="1.0")), [])})

    # --- archives ------------------------------------------------------------------------
    whole = good_wheel()
    case("archive-corrupt/fail-truncated-empty-garbage", {
        W: (whole[: len(whole) // 2], ["archive-corrupt"]),
        S: (b"", ["archive-corrupt"]),
        "other-1.0.tar.gz": (b"not a gzip stream", ["archive-corrupt"]),
    })
    case("archive-corrupt/pass", {W: (whole, [])})
    bomb = [("pkg/zeros.bin", b"\0" * (65 * 1024 * 1024))]
    case("archive-compression-ratio/fail-bomb", {
        W: (wheel_bytes("pkg-1.0", meta(), extra=bomb), ["archive-compression-ratio"])})
    case("archive-compression-ratio/pass-small", {
        W: (wheel_bytes("pkg-1.0", meta(), extra=[("pkg/zeros.bin", b"\0" * (8 * 1024 * 1024))]), [])})
    case("archive-compression-method/fail-bzip2", {
        W: (wheel_bytes("pkg-1.0", meta(), extra=[("pkg/data.txt", b"x" * 100)],
                        method=zipfile.ZIP_BZIP2), ["archive-compression-method"])})
    case("archive-compression-method/pass-stored", {
        W: (wheel_bytes("pkg-1.0", meta(), extra=[("pkg/data.txt", b"x")],
                        method=zipfile.ZIP_STORED), [])})
    case("archive-duplicate-member/fail", {
        W: (wheel_bytes("pkg-1.0", meta(), extra=[("pkg/a.py", b"1"), ("pkg/a.py", b"2")]),
            ["archive-duplicate-member"])})
    case("archive-duplicate-member/pass", {
        W: (wheel_bytes("pkg-1.0", meta(), extra=[("pkg/a.py", b"1"), ("pkg/b.py", b"2")]), [])})
    top = "pkg-1.0"
    base = [(f"{top}/PKG-INFO", meta(), {}), (f"{top}/pyproject.toml", b"", {})]
    case("archive-sparse-member/fail", {
        S: (sparse_sdist(top, meta()), ["archive-sparse-member"])})
    case("archive-sparse-member/pass", {S: (sdist_bytes(top, None, members=base), [])})
    case("archive-unsafe-path/fail-tar-dotdot", {
        S: (sdist_bytes(top, None, members=base + [(f"{top}/../../evil.py", b"x", {})]),
            ["archive-unsafe-path"])})
    case("archive-unsafe-path/fail-zip-absolute", {
        W: (wheel_bytes("pkg-1.0", meta(), extra=[("/tmp/evil.py", b"x")]),
            ["archive-unsafe-path"])})
    case("archive-unsafe-path/fail-zip-dotdot-inside", {
        W: (wheel_bytes("pkg-1.0", meta(), extra=[("pkg/../pkg/evil.py", b"x")]),
            ["archive-unsafe-path"])})
    case("archive-unsafe-path/pass", {S: (sdist_bytes(top, None, members=base), [])})
    case("archive-unsafe-path/pass-dots-in-names", {
        W: (wheel_bytes("pkg-1.0", meta(), extra=[("pkg/a..b/.c.py", b"x")]), [])})
    case("archive-unsafe-link/fail-symlink-out", {
        S: (sdist_bytes(top, None, members=base + [
            (f"{top}/link", b"", {"type": tarfile.SYMTYPE, "linkname": "../../../etc/passwd"})]),
            ["archive-unsafe-link"])})
    link = zipfile.ZipInfo("pkg/link.py", FIXED_TIME)
    link.external_attr = (0o120777 << 16)
    link.create_system = 3
    case("archive-unsafe-link/fail-wheel-symlink", {
        W: (wheel_bytes("pkg-1.0", meta(), raw_extra=[(link, b"__init__.py")]),
            ["archive-unsafe-link"])})
    case("archive-unsafe-link/fail-hardlink-out", {
        S: (sdist_bytes(top, None, members=base + [
            (f"{top}/hard", b"", {"type": tarfile.LNKTYPE, "linkname": "/etc/passwd"})]),
            ["archive-unsafe-link"])})
    case("archive-unsafe-link/pass-symlink-in", {
        S: (sdist_bytes(top, None, members=base + [
            (f"{top}/link", b"", {"type": tarfile.SYMTYPE, "linkname": "pyproject.toml"})]), [])})

    # --- structure -----------------------------------------------------------------------
    case("wheel-structure/fail-no-record", {
        W: (wheel_bytes("pkg-1.0", meta(), omit=("RECORD",)), ["wheel-structure"])})
    case("wheel-structure/fail-no-wheel-file", {
        W: (wheel_bytes("pkg-1.0", meta(), omit=("WHEEL",)), ["wheel-structure"])})
    case("wheel-structure/pass", {W: (good_wheel(), [])})
    def ep_wheel(text):
        return wheel_bytes("pkg-1.0", meta(), extra=[("pkg-1.0.dist-info/entry_points.txt", text)])
    # What warehouse's _validate_entrypoints refuses: not UTF-8, not configparser INI
    # (delimiter "="; strict), or a console/gui script name outside [\w.-]+.
    for what, text in [
        ("bad-name", b"[console_scripts]\nmy tool = pkg.cli:main\n"),
        ("gui-path-name", b"[gui_scripts]\n../pkg = pkg.gui:main\n"),
        ("no-section", b"pkg = pkg.cli:main\n"),
        ("no-delimiter", b"[console_scripts]\npkg pkg.cli:main\n"),
        ("duplicate-name", b"[console_scripts]\npkg = pkg.cli:main\npkg = pkg.cli:other\n"),
        ("duplicate-section", b"[console_scripts]\na = pkg:a\n[console_scripts]\nb = pkg:b\n"),
        ("not-utf8", b"[console_scripts]\npkg = pkg.cli:main # caf\xe9\n"),
        ("default-section-name", b"[DEFAULT]\nbad name = x\n[console_scripts]\npkg = pkg.cli:main\n"),
    ]:
        case(f"wheel-entry-points/fail-{what}", {W: (ep_wheel(text), ["wheel-entry-points"])})
    case("wheel-entry-points/pass", {W: (ep_wheel(
        b"[console_scripts]\npkg = pkg.cli:main\npkg-x.y = pkg.cli:x\n\n[pkg.plugins]\nx = pkg.x:Plugin [extra]\n"
        b"free text name = anything goes here\n"), [])})
    # PyPI accepts any value; pip and uv refuse a script that is not module:function.
    case("wheel-entry-points-value/fail-not-a-function", {W: (ep_wheel(
        b"[console_scripts]\npkg = 1pkg.cli main\n"), ["wheel-entry-points-value"])})
    case("wheel-entry-points-value/pass", {W: (ep_wheel(
        b"[console_scripts]\npkg = pkg.cli:main [extra]\n[other]\nx = not a reference\n"), [])})
    case("sdist-structure/fail-two-tops", {
        S: (sdist_bytes(top, None, members=base + [("stray.txt", b"x", {})]), ["sdist-structure"])})
    case("sdist-structure/pass", {S: (good_sdist(), [])})
    case("metadata-missing/fail-no-metadata-file", {
        W: (wheel_bytes("pkg-1.0", meta(), omit=("METADATA",)),
            ["metadata-missing"])})
    case("metadata-missing/fail-no-version", {
        S: (sdist_bytes(top, b"Metadata-Version: 2.1\nName: pkg\n"), ["metadata-missing"])})
    case("metadata-missing/pass", {S: (good_sdist(), [])})
    case("metadata-invalid/fail-latin1", {
        S: (sdist_bytes(top, meta(headers=["Author: Jos\xe9"]).replace(b"Jos\xc3\xa9", b"Jos\xe9")),
            ["metadata-invalid"])})
    case("metadata-invalid/pass-utf8", {S: (sdist_bytes(top, meta(headers=["Author: José"])), [])})

    # --- core metadata -------------------------------------------------------------------
    meta_case("metadata-version-unsupported", "2.0", [], False, mv="2.0")
    meta_case("metadata-version-unsupported", "3.0", [], False, mv="3.0")
    meta_case("metadata-version-unsupported", "2.5", [], True, mv="2.5")
    meta_case("metadata-field-unknown", "custom", ["X-Custom: 1"], False)
    meta_case("metadata-field-unknown", "case-insensitive", ["home-page: https://example.org"], True)
    meta_case("metadata-field-too-new", "license-expression-in-2.1", ["License-Expression: MIT"], False)
    meta_case("metadata-field-too-new", "license-expression-in-2.4", ["License-Expression: MIT"], True, mv="2.4")
    # Legacy setuptools: License-File in 2.1 (files under .dist-info/, not licenses/) is left
    # out of the upload form by twine and by sdd-publish, so PyPI accepts it.
    meta_case("metadata-field-too-new", "legacy-license-file-in-2.1", ["License-File: LICENSE"], True)
    meta_case("metadata-field-repeated", "summary", ["Summary: again"], False)
    meta_case("metadata-field-repeated", "classifiers", ["Classifier: Typing :: Typed", "Classifier: Programming Language :: Python :: 3"], True)
    case("name-invalid/fail", {
        "pkg_-1.0-py3-none-any.whl": (wheel_bytes("pkg_-1.0", meta("pkg_")),
                                      ["name-invalid", "filename-invalid"])})
    case("name-invalid/pass", {W: (good_wheel(), [])})
    case("version-local/fail", {
        "pkg-1.0+local-py3-none-any.whl": (wheel_bytes("pkg-1.0+local", meta(version="1.0+local")),
                                           ["version-local"])})
    case("version-local/pass", {W: (good_wheel(), [])})
    meta_case("requires-dist-invalid", "syntax", ["Requires-Dist: requests >="], False)
    meta_case("requires-dist-invalid", "marker", ["Requires-Dist: requests; python_version >> '3'"], False)
    meta_case("requires-dist-invalid", "valid", ["Requires-Dist: requests[socks]>=2.31,<3; python_version >= \"3.9\" and extra == \"http\"", "Provides-Extra: http"], True)
    meta_case("requires-dist-direct-url", "url", ["Requires-Dist: pkg2 @ https://example.org/pkg2-1.0.tar.gz"], False)
    meta_case("requires-dist-direct-url", "index", ["Requires-Dist: pkg2==1.0"], True)
    meta_case("requires-python-invalid", "garbage", ["Requires-Python: >=3.x"], False)
    meta_case("requires-python-invalid", "ok", ["Requires-Python: >=3.9,!=3.9.1"], True)
    meta_case("provides-extra-invalid", "not-normalized-2.3", ["Provides-Extra: Dev_Tools"], False, mv="2.3")
    meta_case("provides-extra-invalid", "syntax", ["Provides-Extra: -dev"], False)
    meta_case("provides-extra-invalid", "legacy-2.1", ["Provides-Extra: Dev_Tools"], True)
    meta_case("project-url-invalid", "long-label", ["Project-URL: A label that is longer than thirty-two characters, https://example.org"], False)
    meta_case("project-url-invalid", "not-a-url", ["Project-URL: Source, example dot org"], False)
    meta_case("project-url-invalid", "ok", ["Project-URL: Source, https://github.com/o/r", "Home-page: https://example.org"], True)
    meta_case("classifier-unknown", "made-up", ["Classifier: Programming Language :: Cobol :: 85"], False)
    meta_case("classifier-unknown", "private", ["Classifier: Private :: Do Not Upload"], False)
    meta_case("classifier-unknown", "known", ["Classifier: Programming Language :: Python :: 3", "Classifier: Typing :: Typed"], True)
    meta_case("classifier-deprecated", "jabber", ["Classifier: License :: OSI Approved :: Jabber Open Source License"], False)
    meta_case("classifier-deprecated", "current", ["Classifier: License :: OSI Approved :: MIT License"], True)
    case("summary-too-long/fail", {W: (wheel_bytes("pkg-1.0", meta().replace(b"Summary: A package", b"Summary: " + b"x" * 513)), ["summary-too-long"])})
    case("summary-too-long/pass-512", {W: (wheel_bytes("pkg-1.0", meta().replace(b"Summary: A package", b"Summary: " + b"x" * 512)), [])})
    case("summary-multiline/fail", {W: (wheel_bytes("pkg-1.0", meta().replace(b"Summary: A package", b"Summary: A\n  package")), ["summary-multiline"])})
    case("summary-multiline/pass", {W: (good_wheel(), [])})
    meta_case("description-content-type-invalid", "html", [], False, ct="text/html")
    meta_case("description-content-type-invalid", "charset", [], False, ct="text/markdown; charset=latin-1")
    meta_case("description-content-type-invalid", "variant", [], False, ct="text/markdown; variant=Foo")
    meta_case("description-content-type-invalid", "markdown-gfm", [], True, ct="text/markdown; charset=UTF-8; variant=GFM")
    meta_case("license-expression-invalid", "unknown-id", ["License-Expression: MIT OR Nonsense-1.0"], False, mv="2.4")
    meta_case("license-expression-invalid", "syntax", ["License-Expression: MIT OR"], False, mv="2.4")
    meta_case("license-expression-invalid", "ok", ["License-Expression: Apache-2.0 WITH LLVM-exception OR MIT"], True, mv="2.4")
    # packaging canonicalises case before validating, so PyPI accepts this.
    meta_case("license-expression-invalid", "ok-any-case", ["License-Expression: mit or (apache-2.0 with llvm-exception)"], True, mv="2.4")
    meta_case("license-conflict", "both", ["License-Expression: MIT", "License: MIT License"], False, mv="2.4")
    meta_case("license-conflict", "expression-only", ["License-Expression: MIT"], True, mv="2.4")
    case("license-file-invalid/fail-dotdot", {W: (wheel_bytes("pkg-1.0", meta(mv="2.4", headers=["License-File: ../LICENSE"])),
                                                   ["license-file-invalid", "license-file-missing"])})
    case("license-file-invalid/pass", {W: (wheel_bytes("pkg-1.0", meta(mv="2.4", headers=["License-File: LICENSE"]),
                                                extra=[("pkg-1.0.dist-info/licenses/LICENSE", b"MIT")]), [])})
    case("license-file-missing/fail-wheel", {W: (wheel_bytes("pkg-1.0", meta(mv="2.4", headers=["License-File: LICENSE"])), ["license-file-missing"])})
    case("license-file-missing/fail-sdist", {S: (sdist_bytes(top, meta(mv="2.4", headers=["License-File: LICENSE"])), ["license-file-missing"])})
    case("license-file-missing/pass-sdist", {S: (sdist_bytes(top, meta(mv="2.4", headers=["License-File: LICENSES/MIT.txt"]), extra=[("LICENSES/MIT.txt", b"MIT")]), [])})
    meta_case("dynamic-invalid", "version", ["Dynamic: Version"], False, mv="2.2")
    meta_case("dynamic-invalid", "unknown", ["Dynamic: Colour"], False, mv="2.2")
    meta_case("dynamic-invalid", "ok", ["Dynamic: Requires-Dist", "Dynamic: license-file"], True, mv="2.4")

    # --- long description ----------------------------------------------------------------
    meta_case("description-rst-invalid", "explicit-unknown-directive", [], False, ct="text/x-rst",
              body="Title\n=====\n\n.. frobnicate::\n")
    case("description-rst-invalid/fail-default-rst", {
        W: (wheel_bytes("pkg-1.0", meta(ct=None, body="Title\n=====\n\n``unclosed literal\n")),
            ["description-rst-invalid", "description-content-type-missing"])})
    meta_case("description-rst-invalid", "explicit-ok", [], True, ct="text/x-rst",
              body="Title\n=====\n\nSome *text* and a `link <https://example.org>`_.\n")
    meta_case("description-rst-invalid", "markdown-never-fails", [], True, ct="text/markdown",
              body="Title\n=====\n\n.. frobnicate::\n")
    # Legacy: the description in an 8-space indented `Description:` header (old setuptools).
    legacy_ok = b"Metadata-Version: 1.1\nName: pkg\nVersion: 1.0\nSummary: s\nDescription: Title\n        =====\n        \n        Some *text*.\n        \n"
    legacy_bad = b"Metadata-Version: 1.1\nName: pkg\nVersion: 1.0\nSummary: s\nDescription: Title\n        =====\n        \n        .. frobnicate::\n        \n"
    case("description-rst-invalid/pass-legacy-indented-header", {
        S: (sdist_bytes(top, legacy_ok), ["description-content-type-missing"])})
    case("description-rst-invalid/fail-legacy-indented-header", {
        S: (sdist_bytes(top, legacy_bad), ["description-rst-invalid", "description-content-type-missing"])})
    meta_case("description-missing", "no-body", [], False, ct="text/markdown", body=None)
    meta_case("description-missing", "body", [], True)
    meta_case("description-content-type-missing", "rst-default", [], False, ct=None,
              body="Title\n=====\n\ntext\n")
    meta_case("description-content-type-missing", "explicit", [], True)

    # --- release level -------------------------------------------------------------------
    case("release-mixed/fail-two-versions", {
        W: (good_wheel(), ["release-mixed"]),
        "pkg-2.0-py3-none-any.whl": (good_wheel(version="2.0"), ["release-mixed"])})
    case("release-mixed/fail-two-projects", {
        W: (good_wheel(), ["release-mixed"]),
        "other-1.0-py3-none-any.whl": (good_wheel("other"), ["release-mixed"])})
    case("release-mixed/pass-pep440-equal", {
        W: (good_wheel(), []),
        "pkg-1.0.0.tar.gz": (good_sdist(version="1.0.0"), [])})
    case("release-multiple-sdists/fail", {
        S: (good_sdist(), ["release-multiple-sdists"]),
        "pkg-1.0.0.tar.gz": (good_sdist(version="1.0.0"), ["release-multiple-sdists"])})
    case("release-multiple-sdists/pass", {W: (good_wheel(), []), S: (good_sdist(), [])})
    case("release-tag-mismatch/fail", {W: (good_wheel(), ["release-tag-mismatch"])}, args=["--tag", "v2.0.0"])
    case("release-tag-mismatch/pass-v-prefix", {W: (good_wheel(), [])}, args=["--tag", "v1.0.0"])
    case("release-tag-mismatch/pass-semver-rc", {
        "pkg-1.0.0rc1-py3-none-any.whl": (good_wheel(version="1.0.0rc1"), [])}, args=["--tag", "v1.0.0-rc.1"])

    # --- environment-dependent -----------------------------------------------------------
    # Rendering turned off on purpose; without a Python at all `check` fails the run instead
    # (tests/it/check.rs).
    case("description-unchecked/fail-rendering-skipped", {
        W: (wheel_bytes("pkg-1.0", meta(ct="text/x-rst", body="Title\n=====\n")), ["description-unchecked"])},
        env={"SDD_PUBLISH_RENDERER": "skip"})
    case("description-unchecked/pass-markdown-needs-no-renderer", {W: (good_wheel(), [])},
         env={"SDD_PUBLISH_RENDERER": "skip", "SDD_PUBLISH_PYTHON": "/nonexistent/python3"})

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(CASES, f, indent=1, sort_keys=True)
    print(f"{len(CASES)} cases in {OUT}")


if __name__ == "__main__":
    main()
