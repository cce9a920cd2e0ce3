"""Downloading ImageUrl / VideoUrl inputs without becoming an open proxy into the deployment's network."""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit

import requests

from wxflow.errors import ServiceError
from wxflow.services.context import ServiceContext

MAX_REDIRECTS = 3


def _refuse(message: str) -> ServiceError:
    return ServiceError("FailedOperation.DownLoadError", message)


def _check_host(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse("only http and https URLs can be downloaded")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror:
        raise _refuse("the URL's host does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            raise _refuse("the URL points into a private network, which this deployment does not allow")


def fetch(ctx: ServiceContext, url: str, max_bytes: int) -> bytes:
    """GET ``url`` with the deployment's limits: scheme, address range, redirects re-checked, size, time."""
    deadline = time.monotonic() + ctx.config.fetch_timeout
    allow_private = ctx.config.fetch_allow_private
    for _ in range(MAX_REDIRECTS + 1):
        _check_host(url, allow_private)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ServiceError("FailedOperation.DownLoadTimeoutError", "the download took too long")
        try:
            with requests.get(url, stream=True, timeout=remaining, allow_redirects=False) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code != 200:
                    raise _refuse(f"the URL answered HTTP {response.status_code}")
                declared = int(response.headers.get("Content-Length") or 0)
                if declared > max_bytes:
                    raise ServiceError("FailedOperation.DownLoadError", "the file at the URL is over the size limit")
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise _refuse("the file at the URL is over the size limit")
                    if time.monotonic() > deadline:
                        raise ServiceError("FailedOperation.DownLoadTimeoutError", "the download took too long")
                return bytes(body)
        except requests.Timeout:
            raise ServiceError("FailedOperation.DownLoadTimeoutError", "the download took too long") from None
        except requests.RequestException as exc:
            raise _refuse(f"the URL could not be downloaded ({type(exc).__name__})") from None
    raise _refuse("too many redirects")
