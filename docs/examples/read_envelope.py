"""A reader of keystore envelopes (versions 1 and 2, local wrap), written from docs/envelope-format.md.

Usage: python3 read_envelope.py < request.json
request: {"envelope": "...", "context": {...}, and either one key:
            "material": "<base64url 32 bytes>", "provider": "file", "keyId": "app-data", "version": 1
          or, for several, the recipients this reader is configured with, in its own order:
            "recipients": [{"material": "...", "provider": "memory", "keyId": "eu", "version": 1}, ...]}
          A recipient's "version" may be left out: its material is then taken for whatever version
          the envelope names. With "version" given, another version is one the reader does not hold.
Prints {"plaintextHex": "..."}, or {"error": "InvalidToken"} for a malformed, tampered or
mismatched envelope. For a version 2 envelope that no configured recipient opens it prints
{"error": "<code>", "attempts": [{"provider", "keyId", "version", "code"}, ...]}, one attempt per
recipient tried (an empty list when the configuration has none of the envelope's recipients).
Needs the `cryptography` package.
"""
import base64
import binascii
import hashlib
import hmac
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


def split(envelope):
    """The format version, the decoded header bytes and the (checked) payload text."""
    parts = envelope.split(".", 2)
    if len(parts) != 3 or parts[0] not in ("ks1", "ks2"):
        raise Invalid()
    check_payload(parts[2])
    return parts[0], b64url_decode(parts[1]), parts[2]


class Reader:
    """Takes fields off the front of header bytes; running short is InvalidToken."""

    def __init__(self, h):
        self.h, self.o = h, 0

    def take(self, n):
        if self.o + n > len(self.h):
            raise Invalid()
        self.o += n
        return self.h[self.o - n:self.o]

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def key_name(self):
        """provider type, key id, key version: the fields v1 and v2 name a key with."""
        provider = self.take(self.u8()).decode("latin-1")
        key_id = self.take(self.u16()).decode("utf-8")  # invalid UTF-8 raises UnicodeError
        version = self.u32()
        if not PROVIDER.fullmatch(provider) or not KEY_ID.fullmatch(key_id) or version < 1:
            raise Invalid()
        return provider, key_id, version

    def end(self):
        if self.o != len(self.h):
            raise Invalid()


def parse(envelope):
    """A version 1 envelope: (provider, key id, version, digest, wrapped key, payload)."""
    prefix, h, payload = split(envelope)
    if prefix != "ks1":
        raise Invalid()
    r = Reader(h)
    provider, key_id, version = r.key_name()
    algorithm = r.u8()
    digest = r.take(32)
    wrapped = r.take(r.u16())
    r.end()
    if algorithm != 1 or not wrapped:
        raise Invalid()
    return provider, key_id, version, digest, wrapped, payload


def parse_v2(h):
    """A version 2 header: (digest, commitment, [(provider, key id, version, wrapped key)])."""
    r = Reader(h)
    algorithm = r.u8()
    digest = r.take(32)
    commitment = r.take(32)
    count = r.u8()
    if algorithm != 1 or not 1 <= count <= 16:
        raise Invalid()
    recipients, seen = [], set()
    for _ in range(count):
        provider, key_id, version = r.key_name()
        wrapped = r.take(r.u16())
        if not wrapped or (provider, key_id) in seen:
            raise Invalid()  # a duplicate is the same provider type and key id, whatever the version
        seen.add((provider, key_id))
        recipients.append((provider, key_id, version, wrapped))
    r.end()
    return digest, commitment, recipients


def unwrap(material_text, provider, key_id, version, wrapped, context):
    """Spec "Local wrap": the data key, or Invalid."""
    wrap_context = dict(context, **{"keystore:alg": "fernet"})
    material = b64url_decode(material_text)
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
    return data_key


def fernet_decrypt(data_key, payload):
    try:
        return Fernet(base64.urlsafe_b64encode(data_key)).decrypt(payload.encode("ascii"))
    except InvalidToken:
        raise Invalid()


def key_commitment(data_key):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"keystore/v2 key commitment").derive(data_key)


class NoRecipient(Exception):
    """No configured recipient opened a version 2 envelope."""

    def __init__(self, code, attempts):
        super().__init__(code)
        self.code, self.attempts = code, attempts


def configured(req):
    """The recipients this reader is configured with, in its order."""
    if "recipients" in req:
        return req["recipients"]
    return [{k: req[k] for k in ("material", "provider", "keyId", "version")}]


def decrypt_v1(req, envelope):
    provider, key_id, version, digest, wrapped, payload = parse(envelope)
    mine = [c for c in configured(req) if c["provider"] == provider and c["keyId"] == key_id
            and c.get("version", version) == version]
    if not mine:
        raise Invalid()  # not the key this reader was configured with
    if hashlib.sha256(canonical(req["context"])).digest() != digest:
        raise Invalid()
    data_key = unwrap(mine[0]["material"], provider, key_id, version, wrapped, req["context"])
    return fernet_decrypt(data_key, payload)


def decrypt_v2(req, h, payload):
    digest, commitment, recipients = parse_v2(h)
    config = configured(req)
    # Step 2: none of the envelope's recipients is one this configuration has: a configuration problem.
    if not any(p == c["provider"] and k == c["keyId"] for c in config for p, k, _, _ in recipients):
        providers = {c["provider"] for c in config}
        denied = any(provider in providers for provider, _, _, _ in recipients)
        raise NoRecipient("AccessDenied" if denied else "KeyNotFound", [])
    # Step 3: the caller's context, before any key is used.
    if hashlib.sha256(canonical(req["context"])).digest() != digest:
        raise Invalid()
    # Step 4: the envelope's recipients this configuration allows, in the configuration's order.
    attempts = []
    for c in config:
        for provider, key_id, version, wrapped in recipients:
            if provider != c["provider"] or key_id != c["keyId"]:
                continue
            attempt = {"provider": provider, "keyId": key_id, "version": version}
            if c.get("version", version) != version:
                attempts.append(dict(attempt, code="KeyNotFound"))  # a version this reader does not hold
                continue
            try:
                data_key = unwrap(c["material"], provider, key_id, version, wrapped, req["context"])
            except Invalid:
                attempts.append(dict(attempt, code="InvalidToken"))
                continue
            # Step 5: only a committed data key is used (unwrap already refused other lengths).
            if not hmac.compare_digest(key_commitment(data_key), commitment):
                attempts.append(dict(attempt, code="InvalidToken"))
                continue
            # Step 6: the committed key is the envelope's only one; a payload that does not
            # verify under it is the envelope's failure, and no other recipient is tried.
            return fernet_decrypt(data_key, payload)
    if not attempts:
        providers = {c["provider"] for c in config}
        denied = any(provider in providers for provider, _, _, _ in recipients)
        raise NoRecipient("AccessDenied" if denied else "KeyNotFound", [])
    codes = [a["code"] for a in attempts]
    if all(code == "InvalidToken" for code in codes):
        raise Invalid()  # as any other tampered envelope: one uniform InvalidToken, no list
    if all(code == codes[0] for code in codes):
        code = codes[0]
    elif "ProviderUnavailable" in codes:
        code = "ProviderUnavailable"  # never for local materials; kept for the rule's sake
    else:
        code = codes[0]
    raise NoRecipient(code, attempts)


def decrypt(req):
    envelope = req["envelope"]
    prefix, h, payload = split(envelope)
    if prefix == "ks1":
        return decrypt_v1(req, envelope)
    return decrypt_v2(req, h, payload)


def read(request):
    """The reader's answer to one request, as the command line prints it."""
    try:
        return {"plaintextHex": decrypt(request).hex()}
    except NoRecipient as e:
        return {"error": e.code, "attempts": e.attempts}
    except (Invalid, ValueError, UnicodeError, binascii.Error):
        # Every malformed, tampered or mismatched envelope: the one error.
        return {"error": "InvalidToken"}


if __name__ == "__main__":
    print(json.dumps(read(json.load(sys.stdin))))
