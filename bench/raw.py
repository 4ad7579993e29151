"""The raw rate of the signature algorithm licences are sealed with, measured in this one
process through the same `core.signing.verify` call the API's verification makes, on a
real licence's signed bytes: `python -m bench.raw --fixture FILE --seconds S` prints JSON.

With `openssl` on the PATH, `openssl speed` of the same algorithm is added as extra
information (OpenSSL's own loop, without Python around it)."""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.signing import Algorithm, verify


def raw_rate(
    algorithm: str, public_pem: bytes, data: bytes, signature: bytes, seconds: float
) -> dict[str, Any]:
    """Verifications per second of one process for `seconds`; every one must hold."""
    alg = Algorithm(algorithm)
    count = 0
    started = time.perf_counter()
    end = started + seconds
    while time.perf_counter() < end:
        for _ in range(20):
            if not verify(alg, public_pem, data, signature):
                raise SystemExit("the reference signature does not verify")
        count += 20
    elapsed = time.perf_counter() - started
    return {
        "algorithm": algorithm,
        "count": count,
        "seconds": round(elapsed, 3),
        "per_s": round(count / elapsed, 1),
    }


def openssl_speed(algorithm: str, seconds: int) -> dict[str, Any] | None:
    """`openssl speed` of the algorithm (verify/s of one core), or None without openssl."""
    binary = shutil.which("openssl")
    if binary is None:
        return None
    name = {"SM2-SM3": "sm2", "Ed25519": "ed25519"}[algorithm]
    try:
        done = subprocess.run(
            [binary, "speed", "-seconds", str(seconds), name],
            capture_output=True,
            text=True,
            timeout=seconds * 4 + 30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    # The summary line: "<bits> bits <alg> (<curve>)  <sign s>  <verify s>  <sign/s>  <verify/s>".
    for line in done.stdout.splitlines():
        numbers = re.findall(r"\d+(?:\.\d+)?", line.split(")")[-1]) if ")" in line else []
        if name in line.lower() and len(numbers) >= 4:
            return {
                "command": f"openssl speed -seconds {seconds} {name}",
                "sign_per_s": float(numbers[-2]),
                "verify_per_s": float(numbers[-1]),
            }
    return {"command": f"openssl speed -seconds {seconds} {name}", "output": done.stdout[-400:]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--openssl-seconds", type=int, default=0)
    args = parser.parse_args(argv)
    spec = json.loads(args.fixture.read_text())["raw_verify"]
    result = raw_rate(
        spec["algorithm"],
        spec["public_pem"].encode(),
        base64.b64decode(spec["data"]),
        base64.b64decode(spec["signature"]),
        args.seconds,
    )
    if args.openssl_seconds:
        result["openssl"] = openssl_speed(spec["algorithm"], args.openssl_seconds)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
