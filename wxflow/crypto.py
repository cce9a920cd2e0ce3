"""All cryptography in one place: TC3 request signatures, webhook signatures, keys and encryption at rest.

Comparisons of signatures are constant-time. Keys for different purposes are derived from the one
master key with HKDF, so a key leaked for one purpose says nothing about another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TC3_ALGORITHM = "TC3-HMAC-SHA256"
MASTER_KEY_BYTES = 32


# --- master key -------------------------------------------------------------------------------


def load_or_create_master_key(path: Path) -> bytes:
    """Read the master key, creating it (mode 0600) on first start of an embedded deployment."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != MASTER_KEY_BYTES:
            raise RuntimeError(f"master key file {path} must hold exactly {MASTER_KEY_BYTES} bytes")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(MASTER_KEY_BYTES)
    # O_EXCL: two processes starting together must not both write a key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_master_key(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class Keyring:
    """Purpose-bound keys derived from the master key."""

    def __init__(self, master_key: bytes) -> None:
        self._master = master_key

    def derive(self, purpose: str) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(self._master)

    def sealer(self, purpose: str) -> Sealer:
        return Sealer(self.derive(purpose))


class Sealer:
    """AES-256-GCM with a random nonce; the associated data binds a ciphertext to its owner."""

    VERSION = b"\x01"

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: str = "") -> bytes:
        nonce = os.urandom(12)
        return self.VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad.encode())

    def open(self, blob: bytes, aad: str = "") -> bytes:
        if not blob or blob[:1] != self.VERSION:
            raise ValueError("unknown ciphertext version")
        return self._aead.decrypt(blob[1:13], blob[13:], aad.encode())

    def seal_text(self, text: str, aad: str = "") -> str:
        return base64.b64encode(self.seal(text.encode(), aad)).decode()

    def open_text(self, token: str, aad: str = "") -> str:
        return self.open(base64.b64decode(token), aad).decode()


# --- TC3-HMAC-SHA256 ----------------------------------------------------------------------------


def _hmac_sha256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_signature(
    secret_key: str,
    *,
    service: str,
    timestamp: int,
    content_type: str,
    host: str,
    payload: bytes,
    signed_headers: str = "content-type;host",
    payload_hash: str | None = None,
) -> str:
    """The hex signature a TC3 client computes for a POST / request (spec section 1)."""
    canonical_headers = f"content-type:{content_type}\nhost:{host}\n"
    hashed_payload = payload_hash or hashlib.sha256(payload).hexdigest()
    canonical_request = f"POST\n/\n\n{canonical_headers}\n{signed_headers}\n{hashed_payload}"
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = f"{TC3_ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    k_date = _hmac_sha256(("TC3" + secret_key).encode(), date)
    k_service = _hmac_sha256(k_date, service)
    k_signing = _hmac_sha256(k_service, "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def tc3_credential_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


# --- webhooks -----------------------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``, Stripe-style."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_webhook_signature(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        ts = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - ts) > tolerance:
        return False
    expected = webhook_signature(secret, ts, body).split("v1=", 1)[1]
    return constant_time_equal(expected, parts.get("v1", ""))


# --- secrets handed to merchants ------------------------------------------------------------------


def new_secret_id() -> str:
    # Tencent SecretIds are 36 characters starting with "AKID"; clients sometimes validate the shape.
    return "AKID" + secrets.token_hex(16)


def new_secret(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


# --- envelope encryption of TC3 fields (the Encryption object) ------------------------------------


def load_or_create_rsa_key(path: Path, sealer: Sealer) -> object:
    """The server's RSA-2048 key for unwrapping merchants' field keys; stored sealed with the master key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if path.exists():
        return serialization.load_der_private_key(sealer.open(path.read_bytes(), aad="rsa"), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_rsa_key(path, sealer)
    with os.fdopen(fd, "wb") as fh:
        fh.write(sealer.seal(der, aad="rsa"))
    return key


def public_key_pem(private_key: object) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        private_key.public_key()
        .public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )


def rsa_unwrap(private_key: object, blob: bytes) -> bytes:
    """RSA-OAEP with SHA-256 (and MGF1-SHA-256): the padding merchants must use to wrap their AES key."""
    from cryptography.hazmat.primitives.asymmetric import padding

    return private_key.decrypt(  # type: ignore[attr-defined]
        blob, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )


def rsa_wrap(public_pem: str, key: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    public = serialization.load_pem_public_key(public_pem.encode())
    return public.encrypt(  # type: ignore[union-attr]
        key, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )


def aes_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """AES-256-CBC with PKCS#7 padding."""
    from cryptography.hazmat.primitives import padding as sym_padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    padder = sym_padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    from cryptography.hazmat.primitives import padding as sym_padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    data = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    return unpadder.update(data) + unpadder.finalize()
