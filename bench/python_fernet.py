"""Python side of the benchmark: cryptography's Fernet, driven by bench/run.mjs.

A long-lived worker so that run.mjs can interleave Python's rounds with the
Node contenders' rounds. It reads one JSON request a line on stdin and answers
one JSON line on stdout:

  {"cmd": "verify", "key": K, "size": N, "token": T}
      round trip of its own token, decrypt of T (made by @keystore/core), and a
      token of its own for run.mjs to decrypt with @keystore/core
  {"cmd": "warmup", "key": K, "size": N, "seconds": S}
      runs the loop for S seconds and fixes the batch size for that payload size
  {"cmd": "run", "key": K, "size": N, "seconds": S}
      one time-boxed round: {"rate": round trips per second, "ops": n, "elapsed": s}

The first line it writes says whether cryptography is importable, with versions.
"""

import json
import platform
import string
import sys
import time


def hello():
    try:
        import cryptography
        from cryptography.hazmat.backends.openssl.backend import backend
    except Exception as exc:  # noqa: BLE001 - any import failure means "absent"
        return {"ok": False, "error": f"cryptography not importable: {exc}", "python": platform.python_version()}
    return {
        "ok": True,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "cryptography": cryptography.__version__,
        "openssl": backend.openssl_version_text(),
    }


def payload(size):
    """The same bytes as run.mjs's payload(): A..Z repeated."""
    alphabet = string.ascii_uppercase
    return (alphabet * (size // len(alphabet) + 1))[:size].encode("ascii")


class Worker:
    def __init__(self):
        from cryptography.fernet import Fernet

        self.Fernet = Fernet
        self.fernets = {}
        self.payloads = {}
        self.batches = {}

    def fernet(self, key):
        f = self.fernets.get(key)
        if f is None:
            f = self.fernets[key] = self.Fernet(key.encode("ascii"))
        return f

    def data(self, size):
        p = self.payloads.get(size)
        if p is None:
            p = self.payloads[size] = payload(size)
        return p

    def verify(self, req):
        f = self.fernet(req["key"])
        p = self.data(req["size"])
        own = f.encrypt(p)
        return {
            "roundTrip": f.decrypt(own) == p,
            "decryptsOurs": f.decrypt(req["token"].encode("ascii")) == p,
            "token": f.encrypt(p).decode("ascii"),
        }

    def loop(self, f, p, seconds, batch):
        size = len(p)
        encrypt = f.encrypt
        decrypt = f.decrypt
        ops = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(batch):
                if len(decrypt(encrypt(p))) != size:
                    raise RuntimeError("wrong plaintext length")
            ops += batch
            now = time.perf_counter()
            if now >= deadline:
                break
        return ops, now - start

    def warmup(self, req):
        f = self.fernet(req["key"])
        p = self.data(req["size"])
        ops, elapsed = self.loop(f, p, req["seconds"], 1)
        per_op = elapsed / ops
        # Check the clock about every 5 ms, as run.mjs does.
        self.batches[req["size"]] = max(1, int(0.005 / per_op))
        return {"rate": ops / elapsed, "ops": ops, "elapsed": elapsed}

    def run(self, req):
        f = self.fernet(req["key"])
        p = self.data(req["size"])
        ops, elapsed = self.loop(f, p, req["seconds"], self.batches.get(req["size"], 1))
        return {"rate": ops / elapsed, "ops": ops, "elapsed": elapsed}


def main():
    info = hello()
    print(json.dumps(info), flush=True)
    if not info["ok"]:
        return
    worker = Worker()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            answer = getattr(worker, req["cmd"])(req)
        except Exception as exc:  # noqa: BLE001 - reported to run.mjs, which marks Python broken
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
