"""A local server is still a server: Host/Origin/token checks, safe names, --allow-dir paths.

:class:`Guard` is plain ASGI middleware, so it sees every request (streamed uploads included)
before any route reads a byte of the body.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import unicodedata
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from vidsr.web.config import LOCAL_HOSTS, ServeConfig

TOKEN_COOKIE = "vidsr_token"
TOKEN_HEADER = "x-vidsr-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class PathRefused(Exception):
    """A path outside every --allow-dir (after resolving symlinks and ``..``)."""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _hostname(host_header: str) -> str:
    """``127.0.0.1:8765`` -> ``127.0.0.1``; ``[::1]:80`` -> ``::1``."""
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def host_allowed(config: ServeConfig, host_header: str) -> bool:
    """Refuse DNS rebinding: only loopback names, the bound host, or (with a token) IP literals."""
    name = _hostname(host_header)
    if name in LOCAL_HOSTS or name == config.host.lower() or name in config.extra_hosts:
        return True
    return config.token is not None and _is_ip(name)


def origin_allowed(origin: str | None, host_header: str) -> bool:
    """A browser's Origin must be this server itself (no Origin: a script or curl, allowed)."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.lower()


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _presented_tokens(scope, headers: dict[str, str]) -> list[str]:
    found = []
    if TOKEN_HEADER in headers:
        found.append(headers[TOKEN_HEADER])
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found.append(auth[7:].strip())
    if "cookie" in headers:
        cookie = SimpleCookie()
        try:
            cookie.load(headers["cookie"])
        except Exception:  # a malformed cookie header is no token
            cookie = SimpleCookie()
        if TOKEN_COOKIE in cookie:
            found.append(cookie[TOKEN_COOKIE].value)
    return found


def _query_token(scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0] if values else None


class Guard:
    """ASGI middleware: 403 for a foreign Host or Origin, 401 without the token (if any).

    The first page load may carry ``?token=``: it is answered with a redirect to the same page
    that sets the token as an HttpOnly, SameSite=Strict cookie, so it leaves the address bar.
    """

    def __init__(self, app, config: ServeConfig):
        self.app = app
        self.config = config

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        if not host_allowed(self.config, host):
            await _plain(send, 403, "forbidden: unknown Host header (DNS rebinding?)")
            return
        if not origin_allowed(headers.get("origin"), host):
            await _plain(send, 403, "forbidden: cross-site request")
            return
        site = headers.get("sec-fetch-site")
        if scope.get("method") not in SAFE_METHODS and site not in (None, "same-origin", "none"):
            await _plain(send, 403, "forbidden: cross-site request")
            return
        token = self.config.token
        if token is not None:
            query = _query_token(scope)
            if query is not None and scope.get("method") == "GET" and _same(query, token):
                await _set_cookie_redirect(send, scope.get("path", "/"), token)
                return
            if not any(_same(t, token) for t in _presented_tokens(scope, headers)):
                await _plain(send, 401, "unauthorized: this server needs its token")
                return
        await self.app(scope, receive, send)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def _plain(send, status: int, message: str) -> None:
    body = ('{"detail": "' + message + '"}').encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _set_cookie_redirect(send, path: str, token: str) -> None:
    cookie = f"{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", quote(path).encode()), (b"set-cookie", cookie.encode()),
                        (b"content-length", b"0")],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": b""})


_UNSAFE = re.compile(r"[^\w.\- ()\[\],+&'!]+")


def display_name(name: str | None) -> str:
    """A client's file name made safe to show and to offer as a download name (never a path)."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:150] or "video"


def safe_suffix(name: str) -> str:
    """The extension kept on the server's own file name (lower-case letters/digits, or none)."""
    suffix = Path(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266), no quotes inside."""
    clean = display_name(name)
    ascii_name = clean.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean)}"


def resolve_allowed(path: str, allow_dirs: tuple[Path, ...]) -> Path:
    """The real path of a file inside one of ``allow_dirs`` (symlinks and ``..`` resolved first).

    Raises :class:`PathRefused` for anything outside them, or not a regular file.
    """
    if not allow_dirs:
        raise PathRefused("this server reads no folder of its disk (start it with --allow-dir)")
    if "\x00" in path:
        raise PathRefused("not a path")
    real = Path(os.path.realpath(path))
    for folder in allow_dirs:
        root = Path(os.path.realpath(folder))
        if real.is_relative_to(root):
            if not real.is_file():
                raise PathRefused(f"not a file: {Path(path).name}")
            return real
    raise PathRefused("outside the allowed folders")


def list_allowed(allow_dirs: tuple[Path, ...], limit: int = 500) -> list[dict[str, object]]:
    """Files directly inside each --allow-dir whose real path stays inside it."""
    found: list[dict[str, object]] = []
    for folder in allow_dirs:
        root = Path(os.path.realpath(folder))
        for entry in sorted(root.iterdir()):
            if len(found) >= limit:
                return found
            try:
                real = resolve_allowed(str(entry), (root,))
            except PathRefused:
                continue
            found.append({"path": str(entry), "name": entry.name, "size": real.stat().st_size})
    return found
