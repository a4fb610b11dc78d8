"""A wheel of N one-line modules with valid metadata: the many-members input of
bench/memory.py and of the hostile-archive tests (tests/it/hostile.rs).

Usage: python bench/make_big_wheel.py PATH N
(Python's zipfile writes it several times faster than a debug build of the `zip` crate.)
"""
import sys
import zipfile


def big_wheel(path, n):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i in range(n):
            z.writestr("improved_sdd/m%d/f%d.py" % (i // 1000, i), "x = 1\n")
        di = "improved_sdd-0.1.0.dist-info"
        z.writestr(di + "/METADATA", "Metadata-Version: 2.1\nName: improved-sdd\nVersion: 0.1.0\nSummary: s\n"
                   "Description-Content-Type: text/markdown\n\nA wheel of many modules.\n")
        z.writestr(di + "/WHEEL", "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(di + "/RECORD", "")


if __name__ == "__main__":
    big_wheel(sys.argv[1], int(sys.argv[2]))
