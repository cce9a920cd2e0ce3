"""TC3-HMAC-SHA256 verification of an incoming request (spec section 1)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from flask import Request

from wxflow.crypto import TC3_ALGORITHM, constant_time_equal, tc3_credential_date, tc3_signature
from wxflow.errors import ServiceError
from wxflow.services.context import ServiceContext
from wxflow.services.merchants import credentials_for

SERVICE = "faceid"
_AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<sid>[^/,\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<svc>[^/,\s]+)/tc3_request,\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Caller:
    merchant_id: int
    secret_id: str


def authenticate(ctx: ServiceContext, request: Request, body: bytes) -> Caller:
    header = request.headers.get("Authorization", "")
    match = _AUTH.match(header.strip())
    if not header.startswith(TC3_ALGORITHM) or match is None:
        raise ServiceError("AuthFailure.InvalidAuthorization", "Authorization must use TC3-HMAC-SHA256")
    if match["svc"] != SERVICE:
        raise ServiceError("AuthFailure.InvalidAuthorization", f"the credential scope must name {SERVICE}")
    if match["signed"] != "content-type;host":
        raise ServiceError("AuthFailure.InvalidAuthorization", "SignedHeaders must be content-type;host")
    try:
        timestamp = int(request.headers.get("X-TC-Timestamp", ""))
    except ValueError:
        raise ServiceError("AuthFailure.InvalidAuthorization", "X-TC-Timestamp must be unix seconds") from None
    if abs(ctx.clock.timestamp() - timestamp) > ctx.config.clock_skew:
        raise ServiceError("AuthFailure.SignatureExpire", "the request timestamp is more than 5 minutes off")
    if match["date"] != tc3_credential_date(timestamp):
        raise ServiceError("AuthFailure.SignatureFailure", "the credential date does not match X-TC-Timestamp")
    creds = credentials_for(ctx, match["sid"])
    if creds is None:
        raise ServiceError("AuthFailure.SecretIdNotFound", "the SecretId does not exist")
    payload_hash = None
    if request.headers.get("X-TC-Content-SHA256") == "UNSIGNED-PAYLOAD":
        payload_hash = "UNSIGNED-PAYLOAD"
    expected = tc3_signature(
        creds.secret_key,
        service=SERVICE,
        timestamp=timestamp,
        content_type=request.headers.get("Content-Type", ""),
        host=request.headers.get("Host", ""),
        payload=body,
        payload_hash=payload_hash or hashlib.sha256(body).hexdigest(),
    )
    if not constant_time_equal(expected, match["sig"]):
        raise ServiceError("AuthFailure.SignatureFailure", "the signature does not match")
    return Caller(creds.merchant_id, match["sid"])
