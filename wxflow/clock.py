"""One clock for the service layer, so tests can move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time in UTC, with an offset that tests may advance."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC, so attach the zone."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
