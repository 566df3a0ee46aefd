"""Logs: one line per request and per error, text or JSON lines, each with the request's id.

The id comes from the client's `X-Request-ID` when that is short and plain (a proxy's or a
caller's trace id), else it is made here; the answer carries it back. Log lines never hold the
Authorization header, and query values whose name suggests a secret are replaced by `***`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import netaddr
from api.settings import Settings

log = logging.getLogger("oparl.access")
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
SECRET_NAMES = re.compile(r"token|key|secret|pass|auth|sig|session|code", re.IGNORECASE)
# The attributes every LogRecord has; anything else was passed as `extra` and goes into the line.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "color_message"}


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, pid (the worker), message, request_id, the
    extras a call passed, and the exception's traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def log_config(settings: Settings) -> dict[str, Any]:
    """logging.config.dictConfig for `serve` (uvicorn applies it in every worker)."""
    formatter: dict[str, Any] = {"()": JsonFormatter} if settings.log_format == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            # One handler, the root's: uvicorn's own would print its lines twice.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},  # RequestLog logs requests
            "oparl.access": {"level": "INFO" if settings.access_log else "WARNING"},
        },
    }


def request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if VALID_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def safe_query(query: bytes) -> str:
    """The query for a log line, values of secret-looking names replaced."""
    if not query:
        return ""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, "***" if SECRET_NAMES.search(k) else v) for k, v in pairs])


class RequestLog:
    """ASGI middleware, outermost: the request id, an access line per request, and the answer to an
    error nothing else handled (the app's own handler for `Exception`, run here so that its answer
    carries the request id and its log line the id too)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.trusted = netaddr.parse_networks(settings.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        REQUEST_ID.set(rid)  # not reset: the task ends with the request
        started = time.perf_counter()
        status, started_answer = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_answer
            if message["type"] == "http.response.start":
                status, started_answer = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            handler = scope["app"].exception_handlers.get(Exception)
            if started_answer or handler is None:
                raise
            answer = await handler(Request(scope), exc)
            await answer(scope, receive, send_with_id)
        finally:
            self._access(scope, status, time.perf_counter() - started)

    def _access(self, scope: Scope, status: int, seconds: float) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        query = safe_query(scope["query_string"])
        path = scope["path"] + (f"?{query}" if query else "")
        log.info(
            "%s %s %d %.1f ms",
            scope["method"],
            path,
            status,
            seconds * 1000,
            extra={
                "method": scope["method"],
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client": netaddr.client_address(scope, self.trusted),
            },
        )
