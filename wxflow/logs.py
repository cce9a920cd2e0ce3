"""Logging: every line carries the request id or BizToken; names and ID numbers are masked."""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
biz_token_var: contextvars.ContextVar[str] = contextvars.ContextVar("biz_token", default="-")

_ID_CARD = re.compile(r"\b(\d{4})\d{10}(\d{3}[\dXx])\b")
_LONG_DIGITS = re.compile(r"\b(\d{3})\d{6,}(\d{2})\b")


def mask_id_card(value: str | None) -> str:
    if not value:
        return ""
    return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)


def scrub(text: str) -> str:
    """Last line of defence: mask anything shaped like an ID card or a long number in a log line."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}**********{m.group(2)}", text)
    return _LONG_DIGITS.sub(lambda m: f"{m.group(1)}*****{m.group(2)}", text)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.biz_token = biz_token_var.get()
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if record.args:
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s req=%(request_id)s token=%(biz_token)s %(message)s"


def configure(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(getattr(h, "_wxflow", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler()
    handler._wxflow = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


@contextmanager
def bound(*, request_id: str | None = None, biz_token: str | None = None) -> Iterator[None]:
    tokens = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if biz_token is not None:
        tokens.append((biz_token_var, biz_token_var.set(biz_token)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
