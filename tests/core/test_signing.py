"""SM2-with-SM3 through OpenSSL, checked against two independent verifiers: the pure-Python
gmalg implementation and the `openssl` command line."""

import base64
import shutil
import subprocess

import gmalg
import pytest

from core.signing import Algorithm, SigningError, generate_key, public_pem_of, sign, verify


def _der_to_rs(signature: bytes) -> tuple[bytes, bytes]:
    """Split a DER SEQUENCE {INTEGER r, INTEGER s} into two 32-byte big-endian values."""
    assert signature[0] == 0x30
    index = 2
    parts = []
    for _ in range(2):
        assert signature[index] == 0x02
        length = signature[index + 1]
        value = signature[index + 2 : index + 2 + length].lstrip(b"\x00")
        parts.append(value.rjust(32, b"\x00"))
        index += 2 + length
    return parts[0], parts[1]


def _raw_public_point(public_pem: bytes) -> bytes:
    der = base64.b64decode(b"".join(public_pem.strip().splitlines()[1:-1]))
    return der[-65:]  # the uncompressed point 04 || x || y closes the BIT STRING


@pytest.mark.parametrize("message", [b"", b"hello", "电子证照 𠮷".encode() * 50])
def test_sm2_signature_verifies_with_gmalg(message):
    keys = generate_key(Algorithm.SM2)
    signature = sign(Algorithm.SM2, keys.private_pem, message)
    oracle = gmalg.SM2(pk=_raw_public_point(keys.public_pem), uid=b"1234567812345678")
    assert oracle.verify(message, *_der_to_rs(signature))
    assert not oracle.verify(message + b"!", *_der_to_rs(signature))


def test_gmalg_signature_verifies_with_ours():
    oracle = gmalg.SM2(uid=b"1234567812345678")
    secret, point = oracle.generate_keypair()
    assert point[0] == 4
    # Our PEM for a gmalg key: wrap the point in the fixed SM2 SubjectPublicKeyInfo header.
    header = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
    pem = (
        b"-----BEGIN PUBLIC KEY-----\n"
        + base64.encodebytes(header + point)
        + b"-----END PUBLIC KEY-----\n"
    )
    signer = gmalg.SM2(sk=secret, pk=point, uid=b"1234567812345678")
    r, s = signer.sign(b"licence")
    der = _der_sequence(r, s)
    assert verify(Algorithm.SM2, pem, b"licence", der)
    assert not verify(Algorithm.SM2, pem, b"licencE", der)


def _der_sequence(r: bytes, s: bytes) -> bytes:
    def integer(value: bytes) -> bytes:
        value = value.lstrip(b"\x00") or b"\x00"
        if value[0] & 0x80:
            value = b"\x00" + value
        return bytes([0x02, len(value)]) + value

    body = integer(r) + integer(s)
    return bytes([0x30, len(body)]) + body


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_sm2_signature_verifies_with_openssl_cli(tmp_path):
    keys = generate_key(Algorithm.SM2)
    message = "1.2.156.3005.2 测试".encode()
    (tmp_path / "pub.pem").write_bytes(keys.public_pem)
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(sign(Algorithm.SM2, keys.private_pem, message))
    result = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-in",
            "msg",
            "-sigfile",
            "sig",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Signature Verified Successfully" in result.stdout, result.stderr


def test_ed25519_and_cross_algorithm_refusals():
    ed = generate_key(Algorithm.ED25519)
    sm = generate_key(Algorithm.SM2)
    signature = sign(Algorithm.ED25519, ed.private_pem, b"x")
    assert verify(Algorithm.ED25519, ed.public_pem, b"x", signature)
    assert not verify(Algorithm.ED25519, ed.public_pem, b"y", signature)
    with pytest.raises(SigningError):
        verify(Algorithm.SM2, ed.public_pem, b"x", signature)
    with pytest.raises(SigningError):
        verify(Algorithm.ED25519, sm.public_pem, b"x", signature)
    with pytest.raises(SigningError):
        sign(Algorithm.SM2, b"not a key", b"x")
    assert not verify(Algorithm.SM2, sm.public_pem, b"x", b"\x30\x00")
    assert public_pem_of(Algorithm.SM2, sm.private_pem) == sm.public_pem
    assert public_pem_of(Algorithm.ED25519, ed.private_pem) == ed.public_pem


@pytest.mark.parametrize("algorithm", [Algorithm.SM2, Algorithm.ED25519])
def test_a_public_key_is_parsed_once_and_still_checks_every_signature(algorithm):
    from core import signing

    keys = generate_key(algorithm)
    other = generate_key(algorithm)
    good = sign(algorithm, keys.private_pem, b"licence")
    for _ in range(3):
        assert verify(algorithm, keys.public_pem, b"licence", good)
        assert not verify(algorithm, keys.public_pem, b"licence!", good)
        assert not verify(algorithm, other.public_pem, b"licence", good)
    if algorithm == Algorithm.SM2:
        assert keys.public_pem in signing._libcrypto()._public_keys
    else:
        assert signing._ed_public_key.cache_info().hits >= 2
    # A key that cannot be read is refused every time, never remembered.
    for _ in range(2):
        with pytest.raises(SigningError):
            verify(
                algorithm,
                b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                b"x",
                good,
            )
    wrong_kind = other if algorithm == Algorithm.ED25519 else generate_key(Algorithm.ED25519)
    if algorithm == Algorithm.SM2:
        with pytest.raises(SigningError):
            verify(Algorithm.SM2, wrong_kind.public_pem, b"licence", good)
