"""ORM classes. Sensitive columns hold AES-GCM ciphertext (see ``wxflow.crypto``), never plain values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON, list[Any]: JSON}


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    secret_id: Mapped[str] = mapped_column(String(64), unique=True)
    # The TC3 check needs the SecretKey itself, so it is sealed with a key a dump does not contain.
    secret_key_sealed: Mapped[str] = mapped_column(Text)
    webhook_secret_sealed: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Rule(Base):
    __tablename__ = "rules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    liveness_mode: Mapped[str] = mapped_column(String(16))
    compare_source: Mapped[str] = mapped_column(String(16))
    redirect_prefixes: Mapped[list[Any]]
    callback_url: Mapped[str | None] = mapped_column(String(1024))
    max_attempts: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[str] = mapped_column(String(8))
    wechat_appid: Mapped[str | None] = mapped_column(String(64))
    wechat_secret_sealed: Mapped[str | None] = mapped_column(Text)
    # The WeChat flow first reads the user's ID card (both sides) before the selfie step.
    id_card_ocr: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Flow(Base):
    """One BizToken. Biometric and identity fields are nulled by the retention purge; the row stays."""

    __tablename__ = "flows"

    biz_token: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    # None for App SDK tokens (GetFaceIdToken), which need no rule.
    rule_id: Mapped[str | None] = mapped_column(ForeignKey("rules.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="wechat")  # wechat | app | eid (E证通)
    state: Mapped[str] = mapped_column(String(16), index=True)  # created|in_progress|passed|failed|expired
    liveness_mode: Mapped[str] = mapped_column(String(16))
    compare_source: Mapped[str] = mapped_column(String(16))
    max_attempts: Mapped[int] = mapped_column(Integer)
    redirect_url: Mapped[str | None] = mapped_column(String(1024))
    extra: Mapped[str | None] = mapped_column(Text)
    identity_sealed: Mapped[str | None] = mapped_column(Text)  # {"name", "id_card"} as sealed JSON
    reference_media: Mapped[str | None] = mapped_column(String(64))  # media id of the compare photo
    reference_embedding_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    purge_at: Mapped[datetime | None] = mapped_column(index=True)
    purged_at: Mapped[datetime | None]
    err_code: Mapped[int | None] = mapped_column(Integer)
    err_msg: Mapped[str | None] = mapped_column(String(256))
    live_status: Mapped[int | None] = mapped_column(Integer)
    live_msg: Mapped[str | None] = mapped_column(String(256))
    compare_status: Mapped[int | None] = mapped_column(Integer)
    compare_msg: Mapped[str | None] = mapped_column(String(256))
    sim: Mapped[float | None] = mapped_column(Float)
    final_attempt_id: Mapped[str | None] = mapped_column(String(36))
    # The WeChat user (openid of the rule's app) the flow is bound to, once known; sealed: an identifier.
    openid_sealed: Mapped[str | None] = mapped_column(Text)
    bound_via: Mapped[str | None] = mapped_column(String(16))  # oauth | miniprogram
    # The ID-card step (rules with ID-card OCR): required before the first attempt; what was read, as
    # sealed JSON; and the card images in the media store ({"front", "back", "front_processed",
    # "back_processed", "avatar"} -> media id). All purged with the other biometrics.
    id_card_ocr: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ocr_sealed: Mapped[str | None] = mapped_column(Text)
    card_media: Mapped[dict[str, Any] | None]


class Challenge(Base):
    """A challenge issued for one attempt; consumed exactly once."""

    __tablename__ = "challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    biz_token: Mapped[str] = mapped_column(ForeignKey("flows.biz_token"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[dict[str, Any]]
    issued_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]
    attempt_id: Mapped[str | None] = mapped_column(String(36), unique=True)


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    biz_token: Mapped[str] = mapped_column(ForeignKey("flows.biz_token"), index=True)
    challenge_id: Mapped[str] = mapped_column(ForeignKey("challenges.id"), unique=True)
    seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # queued|running|done|error
    video_media: Mapped[str | None] = mapped_column(String(64))
    video_type: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    err_code: Mapped[int | None] = mapped_column(Integer)
    err_msg: Mapped[str | None] = mapped_column(String(256))
    live_status: Mapped[int | None] = mapped_column(Integer)
    live_msg: Mapped[str | None] = mapped_column(String(256))
    compare_status: Mapped[int | None] = mapped_column(Integer)
    compare_msg: Mapped[str | None] = mapped_column(String(256))
    sim: Mapped[float | None] = mapped_column(Float)
    result: Mapped[str | None] = mapped_column(String(64))  # PaaS FailedOperation.* or Success
    tags: Mapped[list[Any] | None]
    best_frame_media: Mapped[list[Any] | None]
    details: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)  # crash summary for operators, no PII

    __table_args__ = (Index("ix_attempts_token_seq", "biz_token", "seq", unique=True),)


class WebhookOutbox(Base):
    """A webhook to deliver, written in the same transaction as the flow's final state."""

    __tablename__ = "webhook_outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # also the X-Wxflow-Delivery id
    biz_token: Mapped[str] = mapped_column(ForeignKey("flows.biz_token"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    url: Mapped[str] = mapped_column(String(1024))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|delivered|gave_up
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """Each try of an outbox row, kept for the operator."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[str] = mapped_column(ForeignKey("webhook_outbox.id"), index=True)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(512))
    duration_ms: Mapped[int] = mapped_column(Integer)


class PaasChallenge(Base):
    """A LiveCode or ActionSequence handed to a merchant; ValidateData must match one, once."""

    __tablename__ = "paas_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    kind: Mapped[str] = mapped_column(String(16))  # digit | action
    value: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_paas_challenges_lookup", "merchant_id", "kind", "value"),)


class PaasRequest(Base):
    """One synchronous face action (LivenessCompare, ImageRecognition, ...) judged by a worker."""

    __tablename__ = "paas_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # queued|running|done|error
    params: Mapped[dict[str, Any]]
    video_media: Mapped[str | None] = mapped_column(String(64))
    image_media: Mapped[str | None] = mapped_column(String(64))
    identity_sealed: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    best_frame_media: Mapped[list[Any] | None]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    purge_at: Mapped[datetime] = mapped_column(index=True)


class AuthorityRecord(Base):
    """The local authority: a reference identity (name, ID number, photo) an operator imported.

    Looked up by an HMAC of the ID number, so the table never holds the number in the clear.
    """

    __tablename__ = "authority_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    lookup_key: Mapped[str] = mapped_column(String(64), unique=True)
    id_card_sealed: Mapped[str] = mapped_column(Text)
    name_sealed: Mapped[str] = mapped_column(Text)
    photo_media: Mapped[str | None] = mapped_column(String(64))
    embedding_sealed: Mapped[str | None] = mapped_column(Text)
    # Validity of the card (YYYYMMDD; end "00000000" = 长期) and the identity's status:
    # valid | expired | cancelled (注销) | dead (死亡) | invalid.
    validity_begin: Mapped[str | None] = mapped_column(String(8))
    validity_end: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="valid", server_default="valid")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuthorityBankCard(Base):
    """A bank card the local authority knows: looked up by an HMAC of the card number."""

    __tablename__ = "authority_bank_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    lookup_key: Mapped[str] = mapped_column(String(64), unique=True)
    card_sealed: Mapped[str] = mapped_column(Text)
    name_sealed: Mapped[str] = mapped_column(Text)
    id_card_sealed: Mapped[str | None] = mapped_column(Text)
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    bank: Mapped[str | None] = mapped_column(String(64))
    account_type: Mapped[int | None] = mapped_column(Integer)  # 1 debit, 2 credit, 3 prepaid, 4 semi-credit
    # normal | lost | expired | confiscated | dormant | restricted | no_cardless | cheat
    state: Mapped[str] = mapped_column(String(16), default="normal")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuthorityPhone(Base):
    """A mobile number the local authority knows: looked up by HMACs of the number and of its digests."""

    __tablename__ = "authority_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    lookup_key: Mapped[str] = mapped_column(String(64), unique=True)
    # HMACs of md5/sha256/sm3(number) hex, for EncryptedPhoneVerification's hashed inputs.
    md5_key: Mapped[str] = mapped_column(String(64), index=True)
    sha256_key: Mapped[str] = mapped_column(String(64), index=True)
    sm3_key: Mapped[str] = mapped_column(String(64), index=True)
    phone_sealed: Mapped[str] = mapped_column(Text)
    name_sealed: Mapped[str] = mapped_column(Text)
    id_card_sealed: Mapped[str] = mapped_column(Text)
    carrier: Mapped[str | None] = mapped_column(String(8))  # 移动 | 联通 | 电信 | 广电
    status: Mapped[int] = mapped_column(Integer, default=0)  # MobileStatus StatusCode
    in_network_since: Mapped[str | None] = mapped_column(String(8))  # YYYYMMDD
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IdentityCheck(Base):
    """Audit row of one identity check: who asked, which action, the masked subject, result, billed."""

    __tablename__ = "identity_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(128))  # masked: 3707**********0246 / 小* / 138****8000
    subject_key: Mapped[str] = mapped_column(String(64), index=True)  # HMAC of the full subject (daily limit)
    result: Mapped[str] = mapped_column(String(48))
    billed: Mapped[bool] = mapped_column(Boolean)
    provider: Mapped[str] = mapped_column(String(16))  # local | http | none (decided by format checks)
    created_at: Mapped[datetime] = mapped_column(index=True)
