"""The worker process's service context, built once before the work loop."""

from __future__ import annotations

from wxflow.services.context import ServiceContext

_context: ServiceContext | None = None


def install(ctx: ServiceContext) -> None:
    global _context
    _context = ctx


def context() -> ServiceContext:
    if _context is None:
        raise RuntimeError("the worker's service context is not installed; start workers with `flask worker`")
    return _context
