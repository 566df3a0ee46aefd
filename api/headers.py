"""Headers every answer carries: CORS for browsers' scripts, and the security headers.

CORS: the API is public and authenticates by bearer token only (no cookies), so any origin may
call it, send any request header, and read every header a client needs. Browsers read only a few
response headers unless they are exposed, hence the list below.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import allowed_methods, error_response
from api.pages.policy import PAGE_POLICY, is_page
from api.responses import SECURITY_HEADERS

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
EXPOSED = [
    "ETag", "Last-Modified", "Link", "Location", "Retry-After", "Allow", "WWW-Authenticate",
    "Content-Disposition", "X-Request-ID",
    "RateLimit", "RateLimit-Policy", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
]  # fmt: skip
# Browsers cache a preflight at most this long (Chromium caps it at 2 hours).
PREFLIGHT_MAX_AGE = 7200

_ALLOW_ORIGIN = b"access-control-allow-origin"


class Cors(CORSMiddleware):
    """Starlette's CORS middleware, for preflights and exposed headers, with three changes:
    `Access-Control-Allow-Origin: *` is on every answer, asked for with `Origin` or not (the OParl
    spec wants it on every JSON answer; caches then need no `Vary: Origin`); a refused preflight
    is an OParl Error; an OPTIONS that is no preflight answers 204 with `Allow`."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(
            app,
            allow_origins=["*"],
            allow_methods=METHODS,
            # Mirrored back: a header cannot carry ambient credentials here, refusing one only
            # breaks clients. (`*` in the answer would not cover Authorization.)
            allow_headers=["*"],
            expose_headers=EXPOSED,
            max_age=PREFLIGHT_MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" not in headers or "access-control-request-method" not in headers:
                methods = ", ".join(allowed_methods(scope))
                answer = Response(status_code=204, headers={"Allow": methods, "Access-Control-Allow-Origin": "*"})
                await answer(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code == 200:
            kept = {k: v for k, v in answer.headers.items() if k.startswith("access-control-") or k == "vary"}
            return Response(status_code=204, headers=kept)
        refused = error_response(400, "Diese CORS-Anfrage ist nicht erlaubt.", bytes(answer.body).decode())
        refused.headers["Allow"] = ", ".join([*METHODS, "OPTIONS"])
        return refused

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != _ALLOW_ORIGIN]
            message["headers"] = [*headers, (_ALLOW_ORIGIN, b"*")]
            if "origin" in request_headers:  # only a browser's script reads these
                MutableHeaders(scope=message).update(self.simple_headers)
        await send(message)


_SECURITY = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
# The pages (api/pages) get theirs on every answer, a 304 and one from the answer cache too.
_PAGES = [(b"content-security-policy", PAGE_POLICY.encode()) if n == b"content-security-policy" else (n, v)
          for n, v in _SECURITY]  # fmt: skip


class SecurityHeaders:
    """The security headers on every answer that does not set them itself (file contents and the
    docs page set their own Content-Security-Policy; the pages get theirs by path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        defaults = _PAGES if is_page(scope["path"]) else _SECURITY

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *(h for h in defaults if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
