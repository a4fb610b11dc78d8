"""Generate benchmark wheels: valid wheel zips whose payload is random bytes.

Random so that no layer (zip, TLS, HTTP) can compress its way to a better number; the payload
is stored, not deflated, so generating it costs no compression either. Every wheel of one call
belongs to one release (same name and version, a different compatibility tag each), because
that is what a publish run uploads.

    python make_wheels.py OUTDIR --name benchpkg --version 1.0.0 --count 20 --size-mb 20
"""

import argparse
import base64
import hashlib
import itertools
import os
import pathlib
import zipfile

PYTHONS = ["cp39", "cp310", "cp311", "cp312", "cp313", "cp314"]
PLATFORMS = [
    "manylinux_2_17_x86_64",
    "manylinux_2_17_aarch64",
    "musllinux_1_2_x86_64",
    "win_amd64",
    "macosx_11_0_arm64",
]
CHUNK = 1 << 20


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def write_wheel(path: pathlib.Path, name: str, version: str, tag: str, size: int) -> None:
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = (
        "Metadata-Version: 2.1\n"
        f"Name: {name}\n"
        f"Version: {version}\n"
        "Summary: Random payload for upload benchmarks\n"
        # What a real build writes, so the strict checks a PyPI publish runs pass.
        "Description-Content-Type: text/markdown\n"
        "\n"
        "# benchpkg\n\nRandom payload for upload benchmarks.\n"
    ).encode()
    wheel = (
        "Wheel-Version: 1.0\nGenerator: sdd-publish-bench\nRoot-Is-Purelib: false\n"
        f"Tag: {tag}\n"
    ).encode()
    record = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        payload = f"{dist}/payload.bin"
        sha = hashlib.sha256()
        with zf.open(zipfile.ZipInfo(payload), "w", force_zip64=size > (1 << 31)) as out:
            left = size
            while left > 0:
                chunk = os.urandom(min(CHUNK, left))
                sha.update(chunk)
                out.write(chunk)
                left -= len(chunk)
        digest = base64.urlsafe_b64encode(sha.digest()).rstrip(b"=").decode()
        record.append(f"{payload},sha256={digest},{size}")
        for member, data in [(f"{info}/METADATA", metadata), (f"{info}/WHEEL", wheel)]:
            zf.writestr(member, data)
            record.append(f"{member},{record_hash(data)},{len(data)}")
        record.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir", type=pathlib.Path)
    p.add_argument("--name", default="benchpkg")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--size-mb", type=float, default=20)
    args = p.parse_args()

    tags = [f"{py}-{py}-{plat}" for py, plat in itertools.product(PYTHONS, PLATFORMS)]
    if args.count > len(tags):
        raise SystemExit(f"at most {len(tags)} wheels per release (one per tag)")
    args.outdir.mkdir(parents=True, exist_ok=True)
    size = int(args.size_mb * (1 << 20))
    for tag in tags[: args.count]:
        fname = f"{args.name.replace('-', '_')}-{args.version}-{tag}.whl"
        write_wheel(args.outdir / fname, args.name, args.version, tag, size)


if __name__ == "__main__":
    main()
