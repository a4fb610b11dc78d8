"""Verify a PEP 740 attestation with the reference implementation, `pypi-attestations`.

Usage: verify_attestation.py TRUSTED_ROOT DIST ATTESTATION REPOSITORY WORKFLOW

The attestation file must be byte-identical to pypi-attestations' own
serialization of it. Then `Attestation.verify` with a `GitHubPublisher` policy (as PyPI checks a GitHub Trusted
Publisher), against a sigstore `Verifier` built on TRUSTED_ROOT instead of the public-good
instance (the only change: `Verifier.production` answers with that verifier). Prints
`OK <predicate type>` or the verifier's error, and exits 0 or 1.
"""

import sys
from pathlib import Path

import pypi_attestations._impl as impl
from pypi_attestations import Attestation, Distribution, GitHubPublisher
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier


def main():
    root, dist, attestation, repository, workflow = sys.argv[1:6]
    trusted = TrustedRoot.from_file(root)

    class Custom(Verifier):
        @classmethod
        def production(cls, *, offline=False):
            return Verifier(trusted_root=trusted)

    impl.Verifier = Custom
    raw = Path(attestation).read_text()
    att = Attestation.model_validate_json(raw)
    # The object must be exactly what pypi-attestations itself writes, and survive the
    # trip through a Sigstore bundle (what PyPI does with it) unchanged.
    if att.model_dump_json() != raw:
        print("FAILED shape: not byte-identical to pypi-attestations' own serialization")
        sys.exit(1)
    if Attestation.from_bundle(att.to_bundle()) != att:
        print("FAILED shape: changed on a round trip through a Sigstore bundle")
        sys.exit(1)
    publisher = GitHubPublisher(repository=repository, workflow=workflow)
    try:
        predicate_type, _ = att.verify(publisher, Distribution.from_file(Path(dist)))
    except Exception as e:  # noqa: BLE001 - report whatever the verifier says
        print(f"FAILED {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"OK {predicate_type}")


if __name__ == "__main__":
    main()
