"""Loopback doubles of Fulcio and Rekor for the attestation tests.

Shaped from the services' published API descriptions: Fulcio's v2 REST API
(`POST /api/v2/signingCert`, fulcio.proto's CreateSigningCertificate: a PEM PKCS#10
request, the OIDC token as a bearer credential, the answer's
`signedCertificateEmbeddedSct.chain.certificates`) and Rekor's OpenAPI description
(`POST /api/v1/log/entries` taking a `dsse` v0.0.1 ProposedEntry, answering 201 with
`{uuid: LogEntry}`). Like the real services they sign with keys of their own: a test CA
(P-384 root and intermediate, as Fulcio's), a CT log key whose SCT is embedded in every
certificate (the reference verifier checks it), and a Rekor key that signs the entry
timestamp and the checkpoint of a real RFC 6962 Merkle tree.

Usage: sigstore_double.py STATE_DIR [--fault NAME] [--cert-lifetime SECONDS]
Writes STATE_DIR/trusted_root.json (a Sigstore TrustedRoot for these keys), appends one
JSON line per request to STATE_DIR/requests.jsonl, and prints
`{"fulcio": URL, "rekor": URL, "trusted_root": PATH}` once both listen on 127.0.0.1.

Faults: fulcio-401, fulcio-500, fulcio-identity (certifies another workflow),
fulcio-detached-sct, fulcio-expired (certificates that expired before they were issued),
fulcio-other-key (certifies a key that is not the requester's), fulcio-bad-sct (the SCT
is signed by a key that is not the CT log's), rekor-500, rekor-bad-set
(the entry timestamp is signed by another key), rekor-other-body (logs another payload
hash), rekor-garbage (answers 201 with something that is not a log entry), rekor-huge
(answers 201 with 5 MiB), rekor-lost-answer (logs the first entry, then closes the
connection without an answer: the resend gets Rekor's 409 naming the entry in `Location`,
and `GET /api/v1/log/entries/<uuid>` returns it).
"""

import argparse
import base64
import datetime
import hashlib
import json
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER = "https://token.actions.githubusercontent.com"
SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
LOG_INDEX_OFFSET = 70_000_000  # Rekor's global index differs from the shard's tree index.


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def spki(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def der_utf8(s: str) -> bytes:
    """DER UTF8String (Fulcio's 1.3.6.1.4.1.57264.1.8+ extension values)."""
    raw = s.encode()
    assert len(raw) < 0x10000
    if len(raw) < 0x80:
        return bytes([0x0C, len(raw)]) + raw
    if len(raw) < 0x100:
        return bytes([0x0C, 0x81, len(raw)]) + raw
    return bytes([0x0C, 0x82]) + struct.pack(">H", len(raw)) + raw


def der_octets(raw: bytes) -> bytes:
    if len(raw) < 0x80:
        return bytes([0x04, len(raw)]) + raw
    if len(raw) < 0x100:
        return bytes([0x04, 0x81, len(raw)]) + raw
    return bytes([0x04, 0x82]) + struct.pack(">H", len(raw)) + raw


class Keys:
    def __init__(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.inter_key = ec.generate_private_key(ec.SECP384R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        self.other_key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.double"),
                x509.NameAttribute(NameOID.COMMON_NAME, "sigstore-double"),
            ]
        )
        inter_name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.double"),
                x509.NameAttribute(NameOID.COMMON_NAME, "sigstore-double-intermediate"),
            ]
        )
        ca_usage = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        self.root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(ca_usage, critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.root_key.public_key()),
                critical=False,
            )
            .sign(self.root_key, hashes.SHA384())
        )
        self.inter = (
            x509.CertificateBuilder()
            .subject_name(inter_name)
            .issuer_name(root_name)
            .public_key(self.inter_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(ca_usage, critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.inter_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root_key.public_key()),
                critical=False,
            )
            .sign(self.root_key, hashes.SHA384())
        )

    def trusted_root(self, fulcio_url: str, rekor_url: str) -> dict:
        start = "2020-01-01T00:00:00Z"

        def log(url, key):
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(spki(key)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start},
                },
                "logId": {"keyId": b64(hashlib.sha256(spki(key)).digest())},
            }

        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(rekor_url, self.rekor_key)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "sigstore.double", "commonName": "sigstore-double"},
                    "uri": fulcio_url,
                    "certChain": {
                        "certificates": [
                            {"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))}
                            for c in (self.inter, self.root)
                        ]
                    },
                    "validFor": {"start": start},
                }
            ],
            "ctlogs": [log(fulcio_url + "/ct", self.ct_key)],
            "timestampAuthorities": [],
        }


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def issue(keys: Keys, csr: x509.CertificateSigningRequest, claims: dict, args) -> list:
    """A Fulcio-profile leaf for the CSR's key: empty subject, critical SAN URI of the
    workflow, code signing, GitHub's claims as Fulcio's OID extensions, an embedded SCT."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    if args.fault == "fulcio-expired":
        now -= datetime.timedelta(seconds=args.cert_lifetime + 60)
    public_key = csr.public_key()
    if args.fault == "fulcio-other-key":
        public_key = keys.other_key.public_key()
    job_ref = claims.get("job_workflow_ref", "")
    if args.fault == "fulcio-identity":
        job_ref = "someone/else/.github/workflows/evil.yml@refs/heads/main"
    server = "https://github.com"
    repo = claims.get("repository", "")
    sha = claims.get("sha", "")
    ext = {
        "1.3.6.1.4.1.57264.1.1": ISSUER.encode(),  # Issuer (v1: raw bytes)
        "1.3.6.1.4.1.57264.1.8": der_utf8(ISSUER),
        "1.3.6.1.4.1.57264.1.9": der_utf8(f"{server}/{job_ref}"),
        "1.3.6.1.4.1.57264.1.10": der_utf8(claims.get("job_workflow_sha", sha)),
        "1.3.6.1.4.1.57264.1.11": der_utf8(claims.get("runner_environment", "github-hosted")),
        "1.3.6.1.4.1.57264.1.12": der_utf8(f"{server}/{repo}"),
        "1.3.6.1.4.1.57264.1.13": der_utf8(sha),
        "1.3.6.1.4.1.57264.1.14": der_utf8(claims.get("ref", "")),
        "1.3.6.1.4.1.57264.1.18": der_utf8(f"{server}/{claims.get('workflow_ref', '')}"),
        "1.3.6.1.4.1.57264.1.19": der_utf8(claims.get("workflow_sha", sha)),
        "1.3.6.1.4.1.57264.1.20": der_utf8(claims.get("event_name", "")),
        "1.3.6.1.4.1.57264.1.21": der_utf8(
            f"{server}/{repo}/actions/runs/{claims.get('run_id', '1')}/attempts/1"
        ),
    }
    serial = x509.random_serial_number()

    def builder():
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(keys.inter.subject)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(seconds=args.cert_lifetime))
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(keys.inter_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(f"{server}/{job_ref}")]
                ),
                critical=True,
            )
        )
        for oid, value in ext.items():
            b = b.add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=False
            )
        return b

    # RFC 6962 §3.2: the CT log signs the precertificate's TBS (the certificate without
    # its SCT list) together with the hash of the issuer's key.
    precert = builder().sign(keys.inter_key, hashes.SHA384())
    tbs = precert.tbs_certificate_bytes
    timestamp = int(time.time() * 1000)
    issuer_key_hash = hashlib.sha256(spki(keys.inter_key)).digest()
    signed = (
        struct.pack(">BBQH", 0, 0, timestamp, 1)
        + issuer_key_hash
        + struct.pack(">I", len(tbs))[1:]
        + tbs
        + struct.pack(">H", 0)
    )
    ct_key = keys.other_key if args.fault == "fulcio-bad-sct" else keys.ct_key
    sig = ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
    log_id = hashlib.sha256(spki(keys.ct_key)).digest()
    sct = (
        struct.pack(">B", 0)
        + log_id
        + struct.pack(">QH", timestamp, 0)
        + struct.pack(">BBH", 4, 3, len(sig))
        + sig
    )
    sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
    leaf = (
        builder()
        .add_extension(
            x509.UnrecognizedExtension(SCT_OID, der_octets(sct_list)), critical=False
        )
        .sign(keys.inter_key, hashes.SHA384())
    )
    assert leaf.tbs_precertificate_bytes == tbs, "the SCT must cover the final certificate"
    return [
        c.public_bytes(serialization.Encoding.PEM).decode() for c in (leaf, keys.inter, keys.root)
    ]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves: list) -> bytes:
    """RFC 6962 §2.1 Merkle Tree Hash of leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list) -> list:
    """RFC 6962 §2.1.1 audit path for leaf m, leaf to root."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Rekor:
    def __init__(self, keys: Keys, args):
        self.keys = keys
        self.args = args
        self.leaves = []
        # Entries by their canonical body, and answers by UUID: like Rekor, an entry logged
        # twice is a 409 naming the first, which GET /api/v1/log/entries/<uuid> returns.
        self.by_body = {}
        self.by_uuid = {}
        self.lost = False
        self.lock = threading.Lock()
        self.log_id = hashlib.sha256(spki(keys.rekor_key)).digest()

    def add(self, proposed: dict):
        if proposed.get("kind") != "dsse" or proposed.get("apiVersion") != "0.0.1":
            return 400, {"code": 400, "message": "unsupported entry kind"}, {}
        content = proposed["spec"]["proposedContent"]
        envelope = json.loads(content["envelope"])
        verifier = content["verifiers"][0]
        cert = x509.load_pem_x509_certificate(base64.b64decode(verifier))
        payload = base64.b64decode(envelope["payload"])
        sig = base64.b64decode(envelope["signatures"][0]["sig"])
        ptype = envelope["payloadType"]
        pae = f"DSSEv1 {len(ptype)} {ptype} {len(payload)} ".encode() + payload
        try:
            cert.public_key().verify(sig, pae, ec.ECDSA(hashes.SHA256()))
        except Exception:
            return 400, {"code": 400, "message": "verifying signature: invalid signature"}, {}
        payload_hash = hashlib.sha256(payload).hexdigest()
        if self.args.fault == "rekor-other-body":
            payload_hash = hashlib.sha256(b"another statement").hexdigest()
        body = canonical(
            {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(canonical(envelope)).hexdigest(),
                    },
                    "payloadHash": {"algorithm": "sha256", "value": payload_hash},
                    "signatures": [
                        {"signature": envelope["signatures"][0]["sig"], "verifier": verifier}
                    ],
                },
            }
        )
        with self.lock:
            if body in self.by_body:
                existing = self.by_body[body]
                return 409, {
                    "code": 409,
                    "message": "An equivalent entry already exists in the transparency log with UUID %s" % existing,
                }, {"Location": "/api/v1/log/entries/%s" % existing}
            self.leaves.append(leaf_hash(body))
            index = len(self.leaves) - 1
            leaves = list(self.leaves)
        size = len(leaves)
        root = mth(leaves)
        proof = path(index, leaves)
        integrated = int(time.time())
        log_index = LOG_INDEX_OFFSET + index
        body_b64 = b64(body)
        set_key = self.keys.other_key if self.args.fault == "rekor-bad-set" else self.keys.rekor_key
        set_sig = set_key.sign(
            canonical(
                {
                    "body": body_b64,
                    "integratedTime": integrated,
                    "logID": self.log_id.hex(),
                    "logIndex": log_index,
                }
            ),
            ec.ECDSA(hashes.SHA256()),
        )
        note = f"rekor.double - 4242\n{size}\n{b64(root)}\n"
        note_sig = self.keys.rekor_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = note + "\n\u2014 rekor.double " + b64(self.log_id[:4] + note_sig) + "\n"
        entry_uuid = uuid.uuid4().hex + uuid.uuid4().hex
        answer = {
            entry_uuid: {
                "body": body_b64,
                "integratedTime": integrated,
                "logID": self.log_id.hex(),
                "logIndex": log_index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": checkpoint,
                        "hashes": [h.hex() for h in proof],
                        "logIndex": index,
                        "rootHash": root.hex(),
                        "treeSize": size,
                    },
                    "signedEntryTimestamp": b64(set_sig),
                },
            }
        }
        with self.lock:
            self.by_body[body] = entry_uuid
            self.by_uuid[entry_uuid] = answer
        return 201, answer, {}


def handler(service: str, keys: Keys, rekor: Rekor, args, record):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status: int, obj: dict, headers=None):
            data = json.dumps(obj).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            record({"service": service, "path": self.path, "authorization": "", "body": ""})
            prefix = "/api/v1/log/entries/"
            if service == "rekor" and self.path.startswith(prefix):
                found = rekor.by_uuid.get(self.path[len(prefix):])
                if found is not None:
                    return self.answer(200, found)
            self.answer(404, {"code": 404, "message": "not found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            auth = self.headers.get("Authorization") or ""
            record(
                {
                    "service": service,
                    "path": self.path,
                    "authorization": auth,
                    "body": raw.decode(errors="replace"),
                }
            )
            try:
                body = json.loads(raw)
            except ValueError:
                return self.answer(400, {"code": 3, "message": "body is not JSON"})
            if service == "fulcio" and self.path == "/api/v2/signingCert":
                return self.fulcio(body, auth)
            if service == "rekor" and self.path == "/api/v1/log/entries":
                if args.fault == "rekor-500":
                    return self.answer(500, {"code": 500, "message": "rekor double fault"})
                if args.fault == "rekor-garbage":
                    return self.answer(201, {"entries": []})
                if args.fault == "rekor-huge":
                    # Bigger than any log entry: the client stops reading at its cap.
                    return self.answer(201, {"pad": "x" * (5 * 1024 * 1024)})
                status, obj, headers = rekor.add(body)
                if args.fault == "rekor-lost-answer" and status == 201 and not rekor.lost:
                    # Logged, but the answer never arrives: the connection just closes.
                    rekor.lost = True
                    self.close_connection = True
                    return
                return self.answer(status, obj, headers)
            self.answer(404, {"code": 5, "message": "not found"})

        def fulcio(self, body: dict, auth: str):
            if args.fault == "fulcio-500":
                return self.answer(500, {"code": 13, "message": "fulcio double fault"})
            scheme, _, token = auth.partition(" ")
            try:
                claims = claims_of(token)
            except Exception:
                claims = None
            if (
                args.fault == "fulcio-401"
                or scheme.lower() != "bearer"
                or not claims
                or claims.get("aud") != "sigstore"
                or claims.get("iss") != ISSUER
            ):
                return self.answer(
                    401,
                    {"code": 16, "message": "There was an error processing the identity token"},
                )
            csr = x509.load_pem_x509_csr(base64.b64decode(body["certificateSigningRequest"]))
            if not csr.is_signature_valid:
                return self.answer(
                    400, {"code": 3, "message": "The signature supplied in the request could not be verified"}
                )
            chain = issue(keys, csr, claims, args)
            key = (
                "signedCertificateDetachedSct"
                if args.fault == "fulcio-detached-sct"
                else "signedCertificateEmbeddedSct"
            )
            self.answer(200, {key: {"chain": {"certificates": chain}}})

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("state_dir")
    parser.add_argument("--fault", default="")
    parser.add_argument("--cert-lifetime", type=int, default=600)
    args = parser.parse_args()

    keys = Keys()
    rekor = Rekor(keys, args)
    lock = threading.Lock()
    requests_log = f"{args.state_dir}/requests.jsonl"

    def record(obj):
        with lock, open(requests_log, "a") as f:
            f.write(json.dumps(obj) + "\n")

    servers = {}
    for service in ("fulcio", "rekor"):
        servers[service] = ThreadingHTTPServer(
            ("127.0.0.1", 0), handler(service, keys, rekor, args, record)
        )
    urls = {s: f"http://127.0.0.1:{srv.server_address[1]}" for s, srv in servers.items()}
    root_path = f"{args.state_dir}/trusted_root.json"
    with open(root_path, "w") as f:
        json.dump(keys.trusted_root(urls["fulcio"], urls["rekor"]), f, indent=1)
    for srv in servers.values():
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(json.dumps({**urls, "trusted_root": root_path}), flush=True)
    # Stop when the test closes our stdin (or dies).
    sys.stdin.read()


if __name__ == "__main__":
    main()
