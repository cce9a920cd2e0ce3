"""The ``Encryption`` object of TC3 actions: envelope encryption of sensitive fields.

The merchant draws a 32-byte AES key and a 16-character IV, encrypts each field named in
``EncryptList`` with AES-256-CBC (PKCS#7 padding, base64 output), and wraps the key with the server's
RSA public key using RSA-OAEP (SHA-256, MGF1-SHA-256) as ``CiphertextBlob`` (base64). Responses that
are asked to be encrypted come back under the same key and IV.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass
from typing import Any

from wxflow import crypto
from wxflow.errors import ServiceError
from wxflow.services.context import ServiceContext

SENSITIVE_RESPONSE_FIELDS = ("IdCard", "Name")
_lock = threading.Lock()


def _private_key(ctx: ServiceContext) -> object:
    with _lock:
        key = getattr(ctx, "_rsa_key", None)
        if key is None:
            key = crypto.load_or_create_rsa_key(ctx.config.var_dir / "encryption.key", ctx.secrets)
            ctx._rsa_key = key  # type: ignore[attr-defined]
        return key


def public_key(ctx: ServiceContext) -> str:
    return crypto.public_key_pem(_private_key(ctx))


@dataclass(frozen=True)
class Envelope:
    key: bytes
    iv: bytes
    fields: tuple[str, ...]

    def encrypt_text(self, text: str) -> str:
        return base64.b64encode(crypto.aes_cbc_encrypt(self.key, self.iv, text.encode())).decode()

    def decrypt_text(self, text: str) -> str:
        return crypto.aes_cbc_decrypt(self.key, self.iv, base64.b64decode(text, validate=True)).decode()


def open_envelope(ctx: ServiceContext, spec: Any) -> Envelope:
    if not isinstance(spec, dict):
        raise ServiceError("InvalidParameter", "Encryption must be an object")
    algorithm = spec.get("Algorithm") or "AES-256-CBC"
    if algorithm != "AES-256-CBC":
        raise ServiceError("InvalidParameter.UnsupportEncryptField", f"Algorithm {algorithm} is not supported")
    iv = (spec.get("Iv") or "").encode()
    if len(iv) != 16:
        raise ServiceError("InvalidParameterValue", "Encryption.Iv must be 16 characters")
    fields = spec.get("EncryptList") or []
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ServiceError("InvalidParameterValue", "Encryption.EncryptList must be a list of field names")
    try:
        key = crypto.rsa_unwrap(_private_key(ctx), base64.b64decode(spec.get("CiphertextBlob") or "", validate=True))
    except (ValueError, binascii.Error):
        raise ServiceError("InvalidParameterValue", "Encryption.CiphertextBlob could not be unwrapped") from None
    if len(key) != 32:
        raise ServiceError("InvalidParameterValue", "the wrapped key must be 32 bytes (AES-256)")
    return Envelope(key, iv, tuple(fields))


def decrypt_params(ctx: ServiceContext, params: dict[str, Any]) -> tuple[dict[str, Any], Envelope | None]:
    """Replace each listed field by its plaintext; the Encryption object itself is consumed."""
    spec = params.get("Encryption")
    if not spec:
        return params, None
    envelope = open_envelope(ctx, spec)
    out = {k: v for k, v in params.items() if k != "Encryption"}
    for name in envelope.fields:
        if name not in out:
            continue
        if not isinstance(out[name], str):
            raise ServiceError("InvalidParameter.UnsupportEncryptField", f"{name} cannot be encrypted")
        try:
            out[name] = envelope.decrypt_text(out[name])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ServiceError("InvalidParameterValue", f"{name} could not be decrypted") from None
    return out, envelope


def encrypt_response(envelope: Envelope, result: dict[str, Any], whole_body: bool) -> dict[str, Any]:
    """Encrypt the identity fields, or with ``whole_body`` the entire result as ``EncryptedBody``."""
    if whole_body:
        body = json.dumps(result, ensure_ascii=False)
        return {
            "EncryptedBody": envelope.encrypt_text(body),
            "Encryption": {"Algorithm": "AES-256-CBC", "EncryptList": ["EncryptedBody"]},
        }
    return _encrypt_fields(envelope, result)


def _encrypt_fields(envelope: Envelope, value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: envelope.encrypt_text(v)
            if k in SENSITIVE_RESPONSE_FIELDS and isinstance(v, str)
            else _encrypt_fields(envelope, v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_encrypt_fields(envelope, v) for v in value]
    return value
