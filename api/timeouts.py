"""A read timeout for request bodies: a client that stops sending mid-body gets 408, and its
connection and worker slot are freed. (Headers cannot be timed here: the app sees a request only
once its headers are in; a reverse proxy in front does that, see the README.)"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response


class _Stalled(Exception):
    pass


class BodyReadTimeout:
    """Each part of a body must arrive within `seconds` of the previous one; once the body is in,
    `receive` is left alone (streamed answers wait on it for the client's disconnect)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        complete, started = False, False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            with anyio.move_on_after(self.seconds):
                message = await receive()
                complete = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            raise _Stalled

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except _Stalled:
            if started:
                raise
            await error_response(408, f"Der Inhalt der Anfrage kam nicht binnen {self.seconds:g} s.")(
                scope, receive, send
            )
