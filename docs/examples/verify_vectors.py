#!/usr/bin/python3
"""An independent verifier of seatledger's formats (docs/formats.md).

Who wrote it, and how: an outside engineer who had never read the ledger's
Go code wrote the first version from docs/formats.md and the vector files
alone, to find out whether the document is enough to implement a verifier.
It passed every vector, but only after guessing at 20 places where the
document was ambiguous, insufficient or wrong; their report listed them.
The seatledger engineers then settled each point in formats.md (changing
the code where its behaviour was questionable, and adding vectors), and
cleaned this script up and brought it in line with the corrected document.
Those engineers know the Go code; the rule here is that every check this
script makes is one formats.md states, in the order it states, and that it
imports nothing of the ledger.

It needs Python 3 and Debian's python3-cryptography (for Ed25519); the rest
is the standard library:

    /usr/bin/python3 docs/examples/verify_vectors.py testdata/vectors

It checks every vector file in the folder, prints one line per check that
failed, then "N passed, N failed", and exits 1 if any check failed (2 if
the cryptography module is missing). VERBOSE=1 prints every check.
"""
import base64
import calendar
import hashlib
import hmac
import json
import os
import re
import struct
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey, Ed25519PublicKey)
except ImportError as e:  # pragma: no cover - depends on the machine
    print("verify_vectors.py needs the cryptography module "
          "(Debian: apt-get install python3-cryptography): %s" % e)
    sys.exit(2)

VEC = sys.argv[1] if len(sys.argv) > 1 else "testdata/vectors"
VERBOSE = os.environ.get("VERBOSE") == "1"

PASSED = 0
FAILED = 0


def check(section, name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        if VERBOSE:
            print("  ok   [%s] %s" % (section, name))
    else:
        FAILED += 1
        print("  FAIL [%s] %s %s" % (section, name, detail))


def load(name):
    with open(os.path.join(VEC, name), encoding="utf-8") as f:
        return json.load(f)


class Refused(Exception):
    """A verifier's refusal, with the reason formats.md names."""

    def __init__(self, reason, detail=""):
        super().__init__("%s: %s" % (reason, detail))
        self.reason = reason


# ================================================================ primitives
# formats.md, "Conventions": one spelling of everything.

def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def u32be(n):
    return struct.pack(">I", n)


def u64be(n):
    return struct.pack(">Q", n & 0xFFFFFFFFFFFFFFFF)  # two's complement


def b64(s):
    """Canonical base64 (RFC 4648 section 4, padded); None if not."""
    if not isinstance(s, str) or len(s) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", s):
        return None
    try:
        b = base64.b64decode(s, validate=True)
    except ValueError:
        return None
    return b if base64.b64encode(b).decode() == s else None


def b64url(s):
    """Canonical base64url without padding (RFC 4648 section 5); None if not."""
    if not isinstance(s, str) or len(s) % 4 == 1 or not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        return None
    b = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    return b if base64.urlsafe_b64encode(b).rstrip(b"=").decode() == s else None


def b64url_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def lower_hex(s):
    """Lower-case hex; None if not."""
    if not isinstance(s, str) or len(s) % 2 or not re.fullmatch(r"[0-9a-f]*", s):
        return None
    return bytes.fromhex(s)


def ed_public(seed):
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def ed_verify(pub, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")


def unix_ns(s):
    """A UTC RFC 3339 time with 'Z' and 0-9 fractional digits -> Unix ns.
    For the vectors' inputs; readers of files use the strict forms below."""
    m = TIME.fullmatch(s)
    if not m:
        raise ValueError("not a UTC RFC 3339 time: %r" % s)
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60 and se < 60):
        raise ValueError("not a valid time: %r" % s)
    frac = (m.group(7) or "").ljust(9, "0")
    return calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)) * 1_000_000_000 + int(frac)


def file_time(s):
    """An offline header time: exactly YYYY-MM-DDTHH:MM:SSZ -> Unix seconds; None if not."""
    if not isinstance(s, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", s):
        return None
    try:
        return unix_ns(s) // 1_000_000_000
    except ValueError:
        return None


def export_time(s):
    """An export time: UTC with exactly six fractional digits (or up to nine
    without trailing zeros, for nanoseconds) -> Unix ns; None if not."""
    m = TIME.fullmatch(s) if isinstance(s, str) else None
    if not m or not m.group(7):
        return None
    frac = m.group(7)
    if len(frac) != 6 and not (6 < len(frac) <= 9 and not frac.endswith("0")):
        return None
    try:
        ns = unix_ns(s)
    except ValueError:
        return None
    if len(frac) > 6 and ns % 1000 == 0:
        return None  # whole microseconds are written with six digits
    return ns


# ============================================================ offline files
# formats.md, "Offline request and answer files".

CONTEXT_OFFLINE = b"seatledger offline file v1"
DRIFT_S = 5 * 60
ANSWER_OF = {"activation-request": "activation", "refresh-request": "subscription-information",
             "deactivation-request": "deactivation"}


def label_of(kind):
    return "SEATLEDGER " + kind.upper().replace("-", " ") + " FILE"


def lv(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return u32be(len(b)) + b


def offline_signed_bytes(kind, headers, content):
    """headers: [(name, value)] in file order; Signature is left out."""
    out = lv(CONTEXT_OFFLINE) + lv(kind)
    for name, value in headers:
        if name != "Signature":
            out += lv(name) + lv(value)
    return out + lv(content)


def parse_offline(text):
    """Step 1, the structure. -> (label, [(name, value)], content)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > 64 * 1024:
        raise Refused("malformed", "larger than 64 KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("malformed", "not UTF-8")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.strip(" \t\r\n").split("\n")]
    if len(lines) < 4:
        raise Refused("malformed", "too short")
    begin = re.fullmatch(r"-----BEGIN (.+)-----", lines[0])
    if not begin:
        raise Refused("malformed", "no BEGIN line")
    label = begin.group(1)
    if lines[-1] != "-----END " + label + "-----":
        raise Refused("malformed", "the END line names another label")
    headers = []
    i = 1
    while i < len(lines) - 1 and lines[i] != "":
        name, sep, value = lines[i].partition(": ")
        if not sep or not re.fullmatch(r"[A-Za-z0-9-]+", name) or any(n == name for n, _ in headers):
            raise Refused("malformed", "line %d is not a header" % (i + 1))
        headers.append((name, value))
        i += 1
    if i == len(lines) - 1:
        raise Refused("malformed", "no empty line after the headers")
    if not any(n == "Kind" for n, _ in headers):
        raise Refused("malformed", "no Kind header")
    content = b64("".join(ln.strip(" \t") for ln in lines[i + 1:-1]))
    if not content:
        raise Refused("malformed", "the body is not canonical base64 of a content")
    return label, headers, content


def check_offline_headers(headers, answer):
    """Step 3, the headers a file needs (an answer more). -> (issued, expires)."""
    h = dict(headers)
    issued = file_time(h.get("Issued"))
    expires = file_time(h["Expires"]) if "Expires" in h else None
    if issued is None or ("Expires" in h and expires is None) or (answer and expires is None):
        raise Refused("malformed", "Issued or Expires")
    if not h.get("Nonce") or not h.get("Server"):
        raise Refused("malformed", "Nonce or Server")
    if answer:
        if not h.get("Signer"):
            raise Refused("malformed", "no Signer")
        if headers[-1][0] != "Signature":
            raise Refused("malformed", "Signature is not the last header")
        sig = b64url(headers[-1][1])
        if sig is None or len(sig) != 64:
            raise Refused("malformed", "Signature is not canonical base64url of 64 bytes")
    return issued, expires


IDENTITY_FIELDS = {"kind", "server_id", "farm_name", "server_name", "site_code", "site_description", "app_version"}
LICENSE_FIELDS = {"key_id", "key_hint", "start", "end", "seats", "used", "remaining"}
ANSWER_FIELDS = {"installation_id", "identity", "credential", "status", "license"}


def answer_content(content):
    """The content of an answer, as the ledger's own reader takes it
    (unknown fields refused). -> dict, or raises Refused('malformed')."""
    try:
        c = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refused("malformed", "content is not JSON")
    ok = (isinstance(c, dict) and set(c) <= ANSWER_FIELDS
          and isinstance(c.get("identity", {}), dict) and set(c.get("identity", {})) <= IDENTITY_FIELDS
          and isinstance(c.get("license", {}), dict) and set(c.get("license", {})) <= LICENSE_FIELDS
          and all(isinstance(c.get(k, ""), str) for k in ("installation_id", "credential", "status")))
    if not ok:
        raise Refused("malformed", "content is not an answer's JSON")
    return c


def verify_answer(text, expected_kind, now, pinned, pending):
    """formats.md, "Verifying an answer": returns (reason, step), reason ''
    for a file that passes every step (then step 6).
    pinned: {key ID: 32-byte public key}; pending: the vectors' pending request."""
    step = 1
    try:
        label, headers, content = parse_offline(text)
        step = 2
        if label != label_of(expected_kind) or dict(headers)["Kind"] != expected_kind:
            raise Refused("kind")
        step = 3
        issued, expires = check_offline_headers(headers, answer=True)
        step = 4
        h = dict(headers)
        pub = pinned.get(h["Signer"])
        if pub is None or not ed_verify(pub, b64url(h["Signature"]), offline_signed_bytes(h["Kind"], headers, content)):
            raise Refused("signature")
        step = 5
        if issued > now + DRIFT_S:
            raise Refused("future")
        if not now < expires:
            raise Refused("expired")
        step = 6
        if h["Server"] != pending["server"]:
            raise Refused("foreign", "another server")
        if h["Nonce"] != pending["nonce"]:
            raise Refused("replayed")
        c = answer_content(content)
        if expected_kind == "activation":
            if not c.get("installation_id") or not c.get("credential"):
                raise Refused("malformed", "no installation or credential")
        elif c.get("installation_id") != pending["installation_id"]:
            raise Refused("foreign", "another installation")
    except Refused as e:
        return e.reason, step
    return "", 6


def offline_proof(credential, kind, nonce, server, installation_id):
    data = "seatledger offline proof v1\n%s\n%s\n%s\n%s" % (kind, nonce, server, installation_id)
    return b64url_encode(hmac.new(credential.encode("utf-8"), data.encode("utf-8"), hashlib.sha256).digest())


def server_identity(identity):
    if identity.get("kind") == "farm":
        return "farm/" + identity["server_id"]
    return "proxy_server/%s/%s" % (identity["site_code"], identity["server_name"])


def test_offline():
    S = "offline"
    d = load("offline.json")
    keys = {}
    for kn in ("key", "other_key"):
        k = d[kn]
        pub = ed_public(bytes.fromhex(k["seed_hex"]))
        check(S, "%s: public key from seed" % kn, base64.b64encode(pub).decode() == k["public_key_base64"])
        check(S, "%s: key ID = hex(SHA-256(public key)[:8])" % kn, sha256(pub)[:8].hex() == k["key_id"])
        keys[kn] = pub
    check(S, "drift is 5 minutes", d["drift"] == "5m0s")
    pinned = {d["key"]["key_id"]: keys["key"]}

    for a in d["answers"]:
        n = "answer %s" % a["name"]
        headers = [("Kind", a["kind"]), ("Issued", a["issued"]), ("Expires", a["expires"]),
                   ("Nonce", a["nonce"]), ("Server", a["server"]), ("Signer", d["key"]["key_id"])]
        signed = offline_signed_bytes(a["kind"], headers, a["content"].encode("utf-8"))
        check(S, n + ": signed bytes recomputed from the inputs", signed.hex() == a["signed_bytes_hex"])
        sig = b64url(a["signature"])
        check(S, n + ": signature is 86 characters, 64 bytes", len(a["signature"]) == 86 and sig and len(sig) == 64)
        check(S, n + ": signature verifies over the signed bytes", ed_verify(keys["key"], sig, signed))
        check(S, n + ": Expires = Issued + 14 days", file_time(a["expires"]) - file_time(a["issued"]) == 14 * 86400)
        check(S, n + ": the nonce is 16 bytes in canonical base64url", len(a["nonce"]) == 22 and len(b64url(a["nonce"]) or b"") == 16)
        label, hdrs, body = parse_offline(a["file"])
        check(S, n + ": the file's armor label", label == label_of(a["kind"]))
        check(S, n + ": the file's headers in the documented order, Signature last",
              hdrs == headers + [("Signature", a["signature"])], repr(hdrs))
        check(S, n + ": the file's body decodes to the content", body == a["content"].encode("utf-8"))
        lines = a["file"].split("\n")
        body_lines = lines[lines.index("") + 1:-2]
        check(S, n + ": the body is wrapped at 64 columns",
              all(len(x) == 64 for x in body_lines[:-1]) and 0 < len(body_lines[-1]) <= 64)
        c = answer_content(body)
        check(S, n + ": the content is an answer's, for the file's server",
              server_identity(c["identity"]) == a["server"] and ("credential" in c) == (a["kind"] == "activation")
              and c["status"] in ("active", "suspended", "deactivation_pending", "deactivated")
              and set(c["license"]) == LICENSE_FIELDS)
        if "credential" in c:
            m = re.fullmatch(load("credentials.json")["pattern"], c["credential"])
            check(S, n + ": the credential has the documented shape and names the installation",
                  bool(m) and m.group(1) == c["installation_id"])

    for r in d["requests"]:
        n = "request %s" % r["name"]
        try:
            label, hdrs, body = parse_offline(r["file"])
            check_offline_headers(hdrs, answer=False)
        except Refused as e:
            check(S, n + ": parses", False, str(e))
            continue
        check(S, n + ": label and headers Kind, Issued, Nonce, Server", label == label_of(r["kind"]) and
              hdrs == [("Kind", r["kind"]), ("Issued", r["issued"]), ("Nonce", r["nonce"]), ("Server", r["server"])])
        check(S, n + ": body is the content", body == r["content"].encode("utf-8"))
        c = json.loads(body)
        if r["kind"] == "activation-request":
            check(S, n + ": Server is the identity's server identity", server_identity(c["identity"]) == r["server"])
        else:
            p = r["proof"]
            want = offline_proof(p["credential"], r["kind"], r["nonce"], r["server"], p["installation_id"])
            check(S, n + ": proof recomputed", want == p["expected"] and c.get("proof") == want
                  and c.get("installation_id") == p["installation_id"])
        answers = [a for a in d["answers"] if a["nonce"] == r["nonce"]]
        check(S, n + ": its answer repeats its nonce and server, of the answering kind",
              len(answers) == 1 and answers[0]["server"] == r["server"] and answers[0]["kind"] == ANSWER_OF[r["kind"]])

    seen = set()
    for v in d["verify"]:
        check(S, "verify %r: the kind answers the pending request" % v["name"],
              ANSWER_OF.get(v["pending"]["request_kind"]) == v["kind"])
        got = verify_answer(v["file"], v["kind"], file_time(v["now"]), pinned, v["pending"])
        check(S, "verify %r -> %r at step %d" % (v["name"], v["error"], v["step"]), got == (v["error"], v["step"]),
              "got %r" % (got,))
        seen.add(v["error"])
    check(S, "the verification cases reach every outcome",
          seen == {"", "malformed", "kind", "signature", "future", "expired", "foreign", "replayed"}, repr(seen))


# ============================================================ credentials

def test_credentials():
    S = "credentials"
    d = load("credentials.json")
    pat = re.compile(d["pattern"])
    doc_pattern = (r"^sli_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([1-9][0-9]*)"
                   r"\.([A-Za-z0-9_-]{43})$")
    check(S, "the pattern is formats.md's", d["pattern"] == doc_pattern and d["max_length"] == 128)
    for r in d["refused"]:
        c = r["credential"]
        by_pattern = not pat.fullmatch(c) or len(c) > d["max_length"]
        check(S, "refused %r by the %s" % (r["name"], r["refused_by"]),
              r["refused_by"] in ("pattern", "ledger") and by_pattern == (r["refused_by"] == "pattern"))


# ============================================================ event chain
# formats.md, "Event chain hash".

CONTEXT_EVENT = b"seatledger/event/v1"


def bfield(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return u64be(len(b)) + b


def chain_input(prev_hash, ev, data=None):
    """ev: the chain-hash fields by their vector names; times as unix ns or
    RFC 3339 text; data: the payload bytes (default: ev['data'] as text)."""
    def tfield(t):
        if t in (None, ""):
            return u64be(0)
        return u64be(t if isinstance(t, int) else unix_ns(t))
    if data is None:
        data = ev["data"].encode("utf-8")
    return (bfield(CONTEXT_EVENT) + bfield(prev_hash) + bfield(ev["stream_id"]) + u64be(ev["version"])
            + bfield(ev["event_id"]) + bfield(ev["type"]) + u64be(ev["schema_version"]) + bfield(data)
            + bfield(ev["actor_kind"]) + bfield(ev["actor_id"]) + bfield(ev.get("command", ""))
            + bfield(ev.get("correlation_id", "")) + bfield(ev.get("causation_id", ""))
            + tfield(ev.get("effective_at")) + tfield(ev["recorded_at"]))


def verify_stream(events):
    """formats.md, "Verifying a stream": (version written on the event
    where it breaks, 'version' or 'hash'), or None."""
    prev, version = b"", 0
    for ev in events:
        if ev["version"] != version + 1:
            return ev["version"], "version"
        if sha256(chain_input(prev, ev)).hex() != ev["hash_hex"]:
            return ev["version"], "hash"
        prev, version = bytes.fromhex(ev["hash_hex"]), ev["version"]
    return None


def test_event_chain():
    S = "event-chain"
    d = load("event-chain.json")
    prev = b""
    for ev in d["events"]:
        n = "v%d" % ev["version"]
        check(S, n + ": prev_hash_hex is the previous event's hash", ev["prev_hash_hex"] == prev.hex())
        inp = chain_input(prev, ev)
        check(S, n + ": chain input", inp.hex() == ev["chain_input_hex"])
        check(S, n + ": hash", sha256(inp).hex() == ev["hash_hex"])
        check(S, n + ": the recorded time is whole microseconds", unix_ns(ev["recorded_at"]) % 1000 == 0)
        prev = bytes.fromhex(ev["hash_hex"])
    check(S, "the stream verifies", verify_stream(d["events"]) is None)
    for t in d["tampered"]:
        n = "tampered %r" % t["name"]
        got = verify_stream(t["events"])
        check(S, n + ": breaks at v%d by %s" % (t["broken_version"], t["broken_by"]),
              got == (t["broken_version"], t["broken_by"]), "got %r" % (got,))
        prev = b""
        for ev in t["events"]:
            inp = chain_input(prev, ev)
            check(S, n + " v%d: the verifier's derived fields" % ev["version"],
                  ev["prev_hash_hex"] == prev.hex() and ev["chain_input_hex"] == inp.hex()
                  and ev["computed_hash_hex"] == sha256(inp).hex())
            prev = bytes.fromhex(ev["hash_hex"])


# ============================================================ Merkle tree
# formats.md, "Audit Merkle leaf and tree" and RFC 9162.

def leaf_hash(data):
    return sha256(b"\x00", data)


def node_hash(left, right):
    return sha256(b"\x01", left, right)


def mth(leaves):
    """RFC 9162 2.1.1 over leaf data."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, leaf, path, root):
    """RFC 9162 2.1.3.2."""
    if not isinstance(index, int) or index < 0 or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, path):
    """RFC 9162 2.1.4.2, with formats.md's two cases: equal sizes, and the
    empty tree."""
    if first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root] + list(path)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# ============================================================ checkpoint notes
# formats.md, "Signed checkpoint note".

EM_DASH = "\u2014 "


def valid_name(name):
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_hash(name, pub):
    return sha256(name.encode("utf-8"), b"\n\x01", pub)[:4]


def parse_verifier_key(vk):
    """-> (name, key hash bytes, public key). Raises Refused('malformed')."""
    parts = vk.strip().split("+", 2)  # the base64 part may hold '+'
    if len(parts) != 3:
        raise Refused("malformed", "not name+hash+key")
    name, kh, key = parts
    raw = b64(key)
    if not valid_name(name) or not re.fullmatch(r"[0-9a-f]{8}", kh) or raw is None or len(raw) != 33 or raw[0] != 1:
        raise Refused("malformed", "verifier key")
    if key_hash(name, raw[1:]).hex() != kh:
        raise Refused("malformed", "the key hash is not the name's and key's")
    return name, bytes.fromhex(kh), raw[1:]


def open_note(note, key):
    """-> (origin, size, root). Raises Refused('malformed' | 'untrusted')."""
    name, kh, pub = key
    raw = note.encode("utf-8") if isinstance(note, str) else note
    if len(raw) > 64 * 1024:
        raise Refused("malformed", "larger than 64 KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("malformed", "not UTF-8")
    # 1. the note's shape, every signature line's included
    blank = text.find("\n\n")
    if (any(ord(c) < 0x20 and c != "\n" for c in text) or blank < 0 or text.find("\n\n", blank + 1) >= 0
            or text.startswith("\n") or not text.endswith("\n") or len(text) == blank + 2):
        raise Refused("malformed", "not one text, one empty line and signature lines")
    body = text[:blank + 1]
    lines = text[blank + 2:-1].split("\n")
    if len(lines) > 100:
        raise Refused("malformed", "more than 100 signatures")
    sigs = []
    for line in lines:
        sig_name, space, sig_b64 = line[len(EM_DASH):].partition(" ")
        sig = b64(sig_b64)
        if not line.startswith(EM_DASH) or not space or not valid_name(sig_name) or sig is None or len(sig) < 5:
            raise Refused("malformed", "signature line %r" % line)
        sigs.append((sig_name, sig))
    # 2. the first signature of the trusted key
    mine = [sig for sig_name, sig in sigs if sig_name == name and sig[:4] == kh]
    if not mine or len(mine[0]) != 68 or not ed_verify(pub, mine[0][4:], body.encode("utf-8")):
        raise Refused("untrusted", "no valid signature of the key")
    # 3. the trusted text is a checkpoint
    body_lines = body.split("\n")[:-1]
    if len(body_lines) < 3:
        raise Refused("malformed", "fewer than three lines")
    origin, size, root_b64 = body_lines[:3]
    root = b64(root_b64)
    if not origin or not re.fullmatch(r"0|[1-9][0-9]*", size) or int(size) >= 1 << 64 or root is None or len(root) != 32:
        raise Refused("malformed", "not an origin, a size and a root")
    # 4. of the key's log
    if origin != name:
        raise Refused("untrusted", "a checkpoint of another log")
    return origin, int(size), root


# ============================================================ NDJSON export
# formats.md, "NDJSON export".

WS = b" \t\r\n"


def _skip_ws(b, i):
    while i < len(b) and b[i] in WS:
        i += 1
    return i


def _skip_string(b, i):
    i += 1
    while b[i] != 0x22:
        i += 2 if b[i] == 0x5C else 1
    return i + 1


def _skip_value(b, i):
    if b[i] == 0x22:
        return _skip_string(b, i)
    if b[i] in b"{[":
        depth = 0
        while True:
            if b[i] == 0x22:
                i = _skip_string(b, i)
                continue
            if b[i] in b"{[":
                depth += 1
            elif b[i] in b"}]":
                depth -= 1
            i += 1
            if depth == 0:
                return i
    while i < len(b) and b[i] not in b",}]" and b[i] not in WS:
        i += 1
    return i


def raw_member(line, field):
    """The exact bytes of a top-level member's value in a JSON object line
    (already known to be valid JSON), or None."""
    i = _skip_ws(line, 0) + 1
    while True:
        i = _skip_ws(line, i)
        if line[i] == 0x7D:
            return None
        start = i
        i = _skip_string(line, i)
        key = json.loads(line[start:i])
        i = _skip_ws(line, _skip_ws(line, i) + 1)
        start = i
        i = _skip_value(line, i)
        if key == field:
            return line[start:i]
        i = _skip_ws(line, i)
        if line[i] == 0x2C:
            i += 1


def compact_json(data):
    """formats.md's compact JSON: valid JSON in UTF-8, no white space outside strings."""
    try:
        json.loads(data.decode("utf-8"), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (UnicodeDecodeError, ValueError):
        return False
    in_string = escaped = False
    for c in data:
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5C:
                escaped = True
            elif c == 0x22:
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in WS:
            return False
    return True


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 64


def strict_json(line):
    def no_constants(c):
        raise ValueError(c)
    return json.loads(line.decode("utf-8"), parse_constant=no_constants)


LINE_FIELDS = {"position", "stream_id", "version", "event_id", "type", "schema_version", "data", "data_base64",
               "metadata", "recorded_at", "hash", "prev_hash", "proof"}
METADATA_FIELDS = {"actor", "command", "correlation_id", "causation_id", "effective_at"}
ACTOR_KINDS = {"person", "installation", "process", "back_office"}
FILTER_FIELDS = {"stream": str, "stream_prefix": str, "type": str, "from_position": int, "to_position": int}


def event_line(line):
    """An export line -> the event (chain-hash fields, data bytes, position,
    hash, prev_hash, proof). Raises ValueError if it is not an event line."""
    o = strict_json(line)
    if not isinstance(o, dict) or not set(o) <= LINE_FIELDS:
        raise ValueError("not an object of the export's fields")
    md = o.get("metadata", {})
    actor = md.get("actor", {}) if isinstance(md, dict) else None
    if (not isinstance(md, dict) or not set(md) <= METADATA_FIELDS or not isinstance(actor, dict)
            or not set(actor) <= {"kind", "id"} or actor.get("kind", "") not in ACTOR_KINDS):
        raise ValueError("metadata")
    strings = [o.get(k, "") for k in ("stream_id", "event_id", "type", "recorded_at", "hash")]
    strings += [md.get(k, "") for k in ("command", "correlation_id", "causation_id", "effective_at")] + [actor.get("id", "")]
    numbers = [o.get(k, 0) for k in ("position", "version")]
    schema = o.get("schema_version", 0)
    if (not all(isinstance(s, str) for s in strings) or not all(is_uint(n) for n in numbers)
            or not isinstance(schema, int) or isinstance(schema, bool)):
        raise ValueError("a field of the wrong type")
    if "data" in o and "data_base64" in o:
        raise ValueError("both data and data_base64")
    if "data" in o:
        data = raw_member(line, "data")
    elif "data_base64" in o:
        data = b64(o["data_base64"])
        if data is None:
            raise ValueError("data_base64 is not canonical base64")
    else:
        data = b""
    recorded = export_time(o.get("recorded_at", ""))
    effective = export_time(md["effective_at"]) if md.get("effective_at", "") != "" else 0
    h = lower_hex(o.get("hash", ""))
    if recorded is None or effective is None or h is None or len(h) != 32:
        raise ValueError("a time or the hash is not in its one spelling")
    proof = o.get("proof")
    if proof is not None:
        if (not isinstance(proof, dict) or not set(proof) <= {"leaf_index", "hashes"}
                or not is_uint(proof.get("leaf_index", 0)) or not isinstance(proof.get("hashes", []), list)):
            raise ValueError("proof")
        hashes = [b64(x) for x in proof.get("hashes") or []]
        if any(x is None for x in hashes):
            raise ValueError("a proof hash is not canonical base64")
        proof = (proof.get("leaf_index", 0), hashes)
    if "prev_hash" in o and not isinstance(o["prev_hash"], str):
        raise ValueError("prev_hash")
    ev = {"stream_id": o.get("stream_id", ""), "version": o.get("version", 0), "event_id": o.get("event_id", ""),
          "type": o.get("type", ""), "schema_version": schema, "actor_kind": actor.get("kind", ""),
          "actor_id": actor.get("id", ""), "command": md.get("command", ""),
          "correlation_id": md.get("correlation_id", ""), "causation_id": md.get("causation_id", ""),
          "effective_at": effective, "recorded_at": recorded,
          "position": o.get("position", 0), "hash": h, "prev_hash": o.get("prev_hash"), "proof": proof,
          "data": data, "obj": o}
    return ev


def export_header(line):
    try:
        h = strict_json(line)
    except (UnicodeDecodeError, ValueError):
        raise Refused("malformed", "the first line is not JSON")
    if (not isinstance(h, dict) or not set(h) <= {"format", "checkpoint", "filter", "contiguous_positions"}
            or h.get("format") != "seatledger-audit-export/v1" or not isinstance(h.get("checkpoint"), str)
            or not isinstance(h.get("contiguous_positions", False), bool)):
        raise Refused("malformed", "not a seatledger-audit-export/v1 header")
    f = h.get("filter")
    if f is not None:
        if not isinstance(f, dict) or not set(f) <= set(FILTER_FIELDS):
            raise Refused("malformed", "filter")
        for k, typ in FILTER_FIELDS.items():
            v = f.get(k, typ())
            if not isinstance(v, typ) or isinstance(v, bool) or (typ is int and not is_uint(v)):
                raise Refused("malformed", "filter field %s" % k)
        if not any(f.values()):
            raise Refused("malformed", "an empty filter")
    return h


def selected(f, ev):
    return ((not f.get("stream") or ev["stream_id"] == f["stream"])
            and (not f.get("stream_prefix") or ev["stream_id"].startswith(f["stream_prefix"]))
            and (not f.get("type") or ev["type"] == f["type"])
            and ev["position"] >= f.get("from_position", 0)
            and (not f.get("to_position") or ev["position"] <= f["to_position"]))


def verify_export(ndjson, trusted, key):
    """formats.md, "Verifying an export": '' or the outcome.
    trusted: (size, root) of the auditor's checkpoint."""
    raw = ndjson.encode("utf-8")
    lines = [ln.rstrip(b"\r\n") for ln in raw.split(b"\n")]
    t, troot = trusted
    try:
        header = export_header(lines[0])
        _, e_size, e_root = open_note(header["checkpoint"], key)
        if e_size == t and e_root != troot:
            raise Refused("untrusted", "the key signed two histories")
        filtered = header.get("filter") is not None
        if (filtered and e_size != t) or (not filtered and t > e_size):
            raise Refused("stale")
    except Refused as e:
        return e.reason
    # Every event line, parsed up front only for the look-ahead of a removed
    # or reordered event; the checks run line by line below.
    parsed = []
    for ln in lines[1:]:
        if ln.strip(WS) == b"":
            continue
        try:
            parsed.append(event_line(ln))
        except (ValueError, UnicodeDecodeError, IndexError):
            parsed.append(None)
    good = [ev for ev in parsed if ev is not None]

    def elsewhere(stream, version):
        return any(ev["stream_id"] == stream and ev["version"] == version for ev in good)

    if not filtered:
        contiguous = header.get("contiguous_positions", False)
        last_pos, streams, leaves = 0, {}, []
        if t == 0 and mth([]) != troot:
            return "altered"
        for k, ev in enumerate(parsed, start=1):
            if ev is None:
                return "altered"
            if k > e_size:
                return "added"
            want = last_pos + 1
            if (contiguous and ev["position"] != want) or ev["position"] <= last_pos:
                if ev["position"] < want or any(x["position"] == want for x in good):
                    return "reordered"
                return "removed"
            v, prev = streams.get(ev["stream_id"], (0, b""))
            if ev["version"] != v + 1:
                if ev["version"] < v + 1 or elsewhere(ev["stream_id"], v + 1):
                    return "reordered"
                return "removed"
            if sha256(chain_input(prev, ev, ev["data"])) != ev["hash"]:
                return "altered"
            streams[ev["stream_id"]] = (ev["version"], ev["hash"])
            last_pos = ev["position"]
            leaves.append(u64be(ev["position"]) + ev["hash"])
            if (k == t and mth(leaves) != troot) or (k == e_size and e_size > t and mth(leaves) != e_root):
                return "altered"
        return "removed" if len(leaves) < e_size else ""

    f = header["filter"]
    whole_streams = not f.get("type") and not f.get("from_position")
    last_pos, streams = 0, {}
    for ev in parsed:
        if ev is None:
            return "altered"
        if not selected(f, ev):
            return "added"
        if ev["position"] <= last_pos:
            return "reordered"
        last_pos = ev["position"]
        prev = lower_hex(ev["prev_hash"]) if ev["prev_hash"] is not None else None
        if prev is None or len(prev) not in (0, 32) or ev["proof"] is None:
            return "altered"
        if sha256(chain_input(prev, ev, ev["data"])) != ev["hash"] or (prev == b"") != (ev["version"] == 1):
            return "altered"
        index, path = ev["proof"]
        if not verify_inclusion(index, t, leaf_hash(u64be(ev["position"]) + ev["hash"]), path, troot):
            return "altered"
        if whole_streams:
            v, h = streams.get(ev["stream_id"], (0, b""))
            if ev["version"] != v + 1:
                if ev["version"] < v + 1 or elsewhere(ev["stream_id"], v + 1):
                    return "reordered"
                return "removed"
            if v > 0 and prev != h:
                return "altered"
        streams[ev["stream_id"]] = (ev["version"], ev["hash"])
    return ""


# ============================================================ audit.json

def test_audit():
    S = "audit"
    d = load("audit.json")
    pub = ed_public(bytes.fromhex(d["key_seed_hex"]))
    check(S, "public key from seed", base64.b64encode(pub).decode() == d["public_key_base64"])
    kh = key_hash(d["origin"], pub)
    check(S, "key hash", kh.hex() == d["key_hash_hex"])
    vk = "%s+%s+%s" % (d["origin"], kh.hex(), base64.b64encode(b"\x01" + pub).decode())
    check(S, "verifier key recomputed", vk == d["verifier_key"], vk)
    check(S, "verifier key is formats.md's example",
          d["verifier_key"] == "seatledger.example+7cbcd445+AVT19WlqpojN+ys0WT8Z+j1Qk2qQ+mB5eMzovZ8XWhzm")
    key = parse_verifier_key(d["verifier_key"])
    for k in d["verifier_keys"]:
        try:
            parse_verifier_key(k["key"])
            got = ""
        except Refused as e:
            got = e.reason
        check(S, "verifier key %r -> %r" % (k["name"], k["error"]), got == k["error"], "got %r" % got)
    check(S, "empty tree root", mth([]).hex() == d["empty_tree_root_hex"] and d["empty_tree_root_hex"].startswith("e3b0c442"))

    # The events: chains per stream in position order, leaves.
    prev, leaves, chain_of = {}, [], {}
    for i, ev in enumerate(d["events"]):
        n = "event at position %d" % ev["position"]
        h = sha256(chain_input(prev.get(ev["stream_id"], b""), ev))
        check(S, n + ": chain hash recomputed", h.hex() == ev["hash_hex"])
        prev[ev["stream_id"]] = h
        chain_of[ev["position"]] = h
        check(S, n + ": leaf index = position - 1", ev["leaf_index"] == ev["position"] - 1 == i)
        data = u64be(ev["position"]) + h
        check(S, n + ": leaf data and leaf hash", data.hex() == ev["leaf_data_hex"] and leaf_hash(data).hex() == ev["leaf_hash_hex"])
        leaves.append(data)
    check(S, "checkpoint sizes", [c["size"] for c in d["checkpoints"]] == d["checkpoint_sizes"])
    trusted = {}
    for c in d["checkpoints"]:
        n = "checkpoint of size %d" % c["size"]
        root = mth(leaves[:c["size"]])
        check(S, n + ": root recomputed", root.hex() == c["root_hex"])
        body = "%s\n%d\n%s\n" % (d["origin"], c["size"], base64.b64encode(root).decode())
        sig = b64(c["signature_base64"])
        check(S, n + ": body, and a signature of the key hash and 64 bytes over it",
              body == c["body"] and len(sig) == 68 and sig[:4] == kh and ed_verify(pub, sig[4:], body.encode()))
        check(S, n + ": note assembled", c["note"] == body + "\n" + EM_DASH + d["origin"] + " " + c["signature_base64"] + "\n")
        try:
            check(S, n + ": note verifies", open_note(c["note"], key) == (d["origin"], c["size"], root))
        except Refused as e:
            check(S, n + ": note verifies", False, str(e))
        trusted[c["size"]] = (c["size"], root)

    for nt in d["notes"]:
        try:
            open_note(nt["note"], key)
            got = ""
        except Refused as e:
            got = e.reason
        check(S, "note %r -> %r" % (nt["name"], nt["error"]), got == nt["error"], "got %r" % got)

    # Proofs, as formats.md's "Proof JSON" says to check them.
    for p in d["proofs"]:
        try:
            js = json.loads(p["json"])
            if p["kind"] == "inclusion":
                _, size, root = open_note(js["checkpoint"], key)
                leaf = leaf_hash(u64be(p["position"]) + chain_of[p["position"]])  # the event we hold
                ok = (size == p["size"] and js["position"] == p["position"] and js["tree_size"] == size
                      and b64(js["leaf_hash"]) == leaf and js["leaf_index"] == js["position"] - 1
                      and verify_inclusion(js["leaf_index"], size, leaf, [b64(x) for x in js["hashes"]], root))
            else:
                _, s1, r1 = open_note(js["from_checkpoint"], key)
                _, s2, r2 = open_note(js["to_checkpoint"], key)
                path = [b64(x) for x in js["hashes"]]
                ok = ((js["from"], js["to"]) == (s1, s2) == (p["from"], p["to"]) and None not in path
                      and (s1 != 0 or r1 == mth([])) and verify_consistency(s1, s2, r1, r2, path))
        except (Refused, KeyError, TypeError) as e:
            ok = False
            if VERBOSE:
                print("    (%s: %s)" % (p["name"], e))
        check(S, "proof %r valid=%s" % (p["name"], p["valid"]), ok == p["valid"], "got valid=%s" % ok)

    for x in d["exports"]:
        got = verify_export(x["ndjson"], trusted[x["trusted_size"]], key)
        check(S, "export %r -> %r" % (x["name"], x["error"]), got == x["error"], "got %r" % got)
        if x["error"] == "" and x["size"] == x["trusted_size"]:
            for ln in x["ndjson"].encode("utf-8").split(b"\n")[1:]:
                if ln.strip(WS) == b"":
                    continue
                ev = event_line(ln.rstrip(b"\r"))
                src = [e for e in d["events"] if e["position"] == ev["position"]][0]
                n = "export %r position %d" % (x["name"], ev["position"])
                check(S, n + ": the payload's bytes, in data if compact JSON, else data_base64",
                      ev["data"] == src["data"].encode("utf-8") and ("data" in ev["obj"]) == compact_json(ev["data"]))


# ============================================================ webhook
# formats.md, "Order-webhook signature".

TOLERANCE_S = 300


def verify_webhook(header, body, secret, now):
    t, v1s = None, []
    for entry in header.split(","):
        key, eq, value = entry.strip().partition("=")
        if not eq:
            return False
        if key == "t":
            if t is not None:
                return False
            t = value
        elif key == "v1":
            if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
                return False
            v1s.append(value.lower())
    if t is None or not re.fullmatch(r"[0-9]+", t) or int(t) >= 1 << 63 or not v1s:
        return False
    if abs(now - int(t)) > TOLERANCE_S:
        return False
    mac = hmac.new(secret.encode("utf-8"), t.encode() + b"." + body.encode("utf-8"), hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(v, mac) for v in v1s)


def test_webhook():
    S = "order-webhook"
    d = load("order-webhook.json")
    check(S, "mac_input", d["mac_input"] == "%d.%s" % (d["sent_at"], d["body"]))
    mac = hmac.new(d["secret"].encode(), d["mac_input"].encode(), hashlib.sha256).hexdigest()
    check(S, "mac_hex and header", mac == d["mac_hex"] and d["header"] == "t=%d,v1=%s" % (d["sent_at"], mac))
    check(S, "tolerance 5 minutes", d["tolerance"] == "5m0s")
    for c in d["cases"]:
        got = verify_webhook(c["header"], c["body"], d["secret"], c["now"])
        check(S, "delivery %r valid=%s" % (c["name"], c["valid"]), got == c["valid"], "got %s" % got)


def main():
    for name, fn in (("offline", test_offline), ("credentials", test_credentials),
                     ("event-chain", test_event_chain), ("audit", test_audit),
                     ("order-webhook", test_webhook)):
        if VERBOSE:
            print("== %s" % name)
        try:
            fn()
        except Exception as e:  # a crash is a failure, never a pass
            import traceback
            traceback.print_exc()
            check(name, "the section ran to its end", False, repr(e))
    print("%d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
