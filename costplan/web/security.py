"""Who may use the page, and how much they may send: one ASGI middleware in front of it all.

Access control (docs in README, "The web page"):

* bound to a loopback address, with neither setting: anyone on this machine (the default);
* `--token T` (or COSTPLAN_WEB_TOKEN): every request must carry the token, as
  `Authorization: Bearer T`, or the `costplan_token` cookie, which `?token=T` on any URL sets
  (the browser is then redirected to the same URL without it, so a result URL pasted into a
  case note never carries the token);
* `--trusted-header NAME`: a reverse proxy in front has authenticated the user and says so in
  header NAME; a request without it is refused. The proxy must strip NAME from what clients
  send, and the page must then be reachable only through the proxy.

Bound to a loopback address, the page answers only requests whose Host is this machine's
(localhost, 127.0.0.1, ::1): another site's name re-pointed at 127.0.0.1 cannot read it.

Every request's body is capped (`max_body` bytes, counted as it arrives, whatever the
Content-Length says), so an upload cannot exhaust memory or disk.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "costplan_token"
# What the page never needs: framing, sniffing, referrers, other origins' scripts, caching of
# results (a shared intranet proxy must not keep one officer's answers for another).
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),  # the volumes page frames its own chart report
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"frame-ancestors 'self'; form-action 'self'",
    ),
]


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


async def _plain(send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]]) -> None:
    body = text.encode("utf-8")
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *HEADERS, *extra]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _hostname(host: bytes) -> str:
    """The name in a Host header, without its port ('[::1]:8000' is '::1')."""
    text = host.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


class Guard:
    """Access control, the body-size limit and the safety headers for every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None = None,
        trusted_header: str | None = None,
        max_body: int = 1_000_000,
        hosts: frozenset[str] | None = None,
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.token = token
        self.trusted_header = trusted_header.lower().encode("latin-1") if trusted_header else None
        self.max_body = max_body

    def _token_ok(self, headers: dict[bytes, bytes], given: str | None) -> bool:
        assert self.token is not None
        want = self.token.encode("utf-8")
        auth = headers.get(b"authorization", b"")
        candidates = [auth[7:].strip()] if auth[:7].lower() == b"bearer " else []
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:  # a malformed cookie header is simply no token
            cookie = SimpleCookie()
        if COOKIE in cookie:
            candidates.append(cookie[COOKIE].value.encode("utf-8"))
        if given is not None:
            candidates.append(given.encode("utf-8"))
        # Constant-time comparison: the token cannot be guessed a character at a time.
        return any(hmac.compare_digest(c, want) for c in candidates)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((v for k, v in query if k == "token"), None)
        if self.hosts is not None and _hostname(headers.get(b"host", b"")) not in self.hosts:
            # A page on another site whose name was re-pointed at 127.0.0.1 (DNS rebinding)
            # would otherwise read this one's answers: only the names of this machine.
            await _plain(send, 421, "costplan: error: this page answers only to localhost\n", [])
            return
        if self.trusted_header is not None and not headers.get(self.trusted_header):
            await _plain(send, 403, "costplan: error: not authenticated by the proxy\n", [])
            return
        if self.token is not None:
            if not self._token_ok(headers, given):
                await _plain(
                    send, 401, "costplan: error: this page needs its access token\n",
                    [(b"www-authenticate", b'Bearer realm="costplan"')],
                )  # fmt: skip
                return
            if given is not None:
                # Keep the token out of result URLs: a cookie from now on, then the same URL.
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                where = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
                cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
                await _plain(
                    send, 303, "",
                    [(b"location", where.encode("latin-1")), (b"set-cookie", cookie.encode())],
                )  # fmt: skip
                return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _plain(send, 413, f"costplan: error: {self._too_large()}\n", [])
            return
        await self._guarded(scope, receive, send)

    def _too_large(self) -> str:
        return f"the request is larger than the page's limit of {self.max_body:,} bytes"

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge
            return message

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        try:
            await self.app(scope, counted, with_headers)
        except BodyTooLarge:
            if not started:
                await _plain(send, 413, f"costplan: error: {self._too_large()}\n", [])
