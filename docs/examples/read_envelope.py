"""A reader of keystore envelopes (version 1, local wrap), written from docs/envelope-format.md.

Usage: python3 read_envelope.py < request.json
request: {"envelope": "...", "material": "<base64url 32 bytes>", "provider": "file",
          "keyId": "app-data", "version": 1, "context": {...}}
Prints {"plaintextHex": "..."} or {"error": "InvalidToken"}. Needs the `cryptography` package.
"""
import base64
import binascii
import hashlib
import json
import re
import struct
import sys

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Invalid(Exception):
    pass


B64URL = re.compile(r"[A-Za-z0-9_-]+")
PAYLOAD = re.compile(r"[A-Za-z0-9_-]+={0,2}")
PROVIDER = re.compile(r"[a-z][a-z0-9-]{0,31}")
KEY_ID = re.compile(r"[\w.:/@+=-]{1,256}")  # letters and digits (Unicode), and . _ : / @ + = -


def b64url_decode(text):
    """Strict, canonical base64url without padding: re-encoding must give the same text."""
    if not B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise Invalid()
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(data).decode("ascii").rstrip("=") != text:
        raise Invalid()
    return data


def check_payload(text):
    """The payload is canonical padded base64url: re-encoding its bytes must give the same text.

    Python's Fernet alone would also take stray low bits, extra padding, `+`, `/` and whitespace.
    """
    if not PAYLOAD.fullmatch(text) or len(text) % 4 != 0:
        raise Invalid()
    if base64.urlsafe_b64encode(base64.urlsafe_b64decode(text)).decode("ascii") != text:
        raise Invalid()


def canonical(context):
    out = b""
    for key in sorted(context, key=lambda k: k.encode("utf-8")):
        for s in (key, context[key]):
            b = s.encode("utf-8")
            out += struct.pack(">I", len(b)) + b
    return out


def parse(envelope):
    parts = envelope.split(".", 2)
    if len(parts) != 3 or parts[0] != "ks1":
        raise Invalid()
    check_payload(parts[2])
    h = b64url_decode(parts[1])
    o = 0

    def take(n):
        nonlocal o
        if o + n > len(h):
            raise Invalid()
        o += n
        return h[o - n:o]

    provider = take(take(1)[0]).decode("latin-1")
    key_id = take(struct.unpack(">H", take(2))[0]).decode("utf-8")  # invalid UTF-8 raises UnicodeError
    version = struct.unpack(">I", take(4))[0]
    algorithm = take(1)[0]
    digest = take(32)
    wrapped = take(struct.unpack(">H", take(2))[0])
    if o != len(h) or algorithm != 1 or version < 1 or not wrapped:
        raise Invalid()
    if not PROVIDER.fullmatch(provider) or not KEY_ID.fullmatch(key_id):
        raise Invalid()
    return provider, key_id, version, digest, wrapped, parts[2]


def decrypt(req):
    provider, key_id, version, digest, wrapped, payload = parse(req["envelope"])
    if provider != req["provider"] or key_id != req["keyId"] or version != req["version"]:
        raise Invalid()  # not the key this reader was configured with
    if hashlib.sha256(canonical(req["context"])).digest() != digest:
        raise Invalid()
    wrap_context = dict(req["context"], **{"keystore:alg": "fernet"})
    material = b64url_decode(req["material"])
    wrapping_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                        info=b"keystore/v1 local-wrap").derive(material)
    pb, kb = provider.encode("ascii"), key_id.encode("utf-8")
    aad = (b"keystore/v1" + bytes([len(pb)]) + pb + struct.pack(">H", len(kb)) + kb
           + struct.pack(">I", version) + canonical(wrap_context))
    if len(wrapped) < 1 + 12 + 16 or wrapped[0] != 1:
        raise Invalid()
    try:
        data_key = AESGCM(wrapping_key).decrypt(wrapped[1:13], wrapped[13:], aad)
    except Exception:
        raise Invalid()
    if len(data_key) != 32:
        raise Invalid()
    try:
        return Fernet(base64.urlsafe_b64encode(data_key)).decrypt(payload.encode("ascii"))
    except InvalidToken:
        raise Invalid()


def read(request):
    """The reader's answer to one request, as the command line prints it."""
    try:
        return {"plaintextHex": decrypt(request).hex()}
    except (Invalid, ValueError, UnicodeError, binascii.Error):
        # Every malformed, tampered or mismatched envelope: the one error.
        return {"error": "InvalidToken"}


if __name__ == "__main__":
    print(json.dumps(read(json.load(sys.stdin))))
