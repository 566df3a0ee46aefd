"""A database that cannot be reached (or refuses to work) is an outage, not a bug: 503 with
Retry-After, logged once when it begins and once when it ends, and over without a restart.

Every database failure that says "try again later" counts: a refused or lost connection, a pool
that hands out none in time, a disk that is full, SQLite's lock held too long. They are turned into
the 503 wherever they are raised: in a route or a dependency (an exception handler, so the middleware
around the routes sees an ordinary answer) and in the middleware itself (`Unavailable`, the net).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import exc as sa
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.responses import ERROR_HEADERS, OParlJSONResponse
from oparl.errors import error_body

log = logging.getLogger(__name__)

MESSAGE = "Die Datenbank ist vorübergehend nicht erreichbar; bitte später erneut senden."
# Drivers' own errors, where code below SQLAlchemy (the generation reader) talks to them directly.
_DRIVER_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError)


def is_outage(exc: BaseException) -> bool:
    """True for a failure of the database rather than of the request or the code."""
    if isinstance(exc, sa.TimeoutError):  # the pool had no connection to give in time
        return True
    if isinstance(exc, sa.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (sa.OperationalError, sa.InterfaceError))
    return isinstance(exc, _DRIVER_ERRORS)


class Outage:
    """The database's state as this worker saw it last.

    `down` turns true at the first failure and false at the first success at least `quiet` seconds
    after the last one (a statement that was still running when the database went away does not end
    the outage). The log says when an outage began and when it ended, not per request.
    """

    def __init__(self, retry_after: int, quiet: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_after, self.quiet, self.clock = retry_after, quiet, clock
        self.down = False
        self.began = self.last_failure = 0.0
        self.refused = 0
        self.lock = threading.Lock()

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.last_failure = self.clock()
            self.refused += 1
            if self.down:
                return
            self.down, self.began, self.refused = True, self.last_failure, 1
        log.error("database unavailable, answering 503 until it is back: %s", _summary(exc))

    def succeeded(self) -> None:
        if not self.down:  # the hot path: one attribute read
            return
        with self.lock:
            if not self.down or self.clock() - self.last_failure < self.quiet:
                return
            self.down = False
            lasted, refused = self.last_failure - self.began, self.refused
        log.warning("database available again after %.1f s of outage (%d requests answered 503)", lasted, refused)

    def response(self, exc: BaseException) -> OParlJSONResponse:
        self.failed(exc)
        headers = {**ERROR_HEADERS, "Retry-After": str(self.retry_after)}
        return OParlJSONResponse(error_body(MESSAGE), status_code=503, headers=headers)


def _summary(exc: BaseException) -> str:
    """The driver's first line (no SQL, no parameters: those may hold what a client sent)."""
    cause = exc.orig if isinstance(exc, sa.DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


class Unavailable:
    """ASGI middleware, the net under everything inside it: an outage raised by middleware (or by
    anything the exception handlers did not see) is answered 503 too, not dropped with the
    connection. Once the answer has begun there is nothing left to say; it is logged and the
    connection ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if not is_outage(exc):
                raise
            outage: Outage = scope["app"].state.outage
            if started:
                outage.failed(exc)
                return
            await outage.response(exc)(scope, receive, send)
