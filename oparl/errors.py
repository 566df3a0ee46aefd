"""OParl Error objects (spec chapter "Fehlerbehandlung") raised anywhere below the HTTP layer.

    OParlError            500, the base: a message, an optional debug text, `body()`
    ├── BadRequest        400
    ├── Forbidden         403
    ├── NotFound          404  (`by_id`, `by_key`: the one wording of "no such object")
    ├── Gone              410
    └── Unprocessable     422
        └── RecordError   a record that cannot be stored; `where` names the record and the field

`error_body` is the one builder of the Error object; api/errors.py answers with it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

ERROR_TYPE = "https://schema.oparl.org/1.1/Error"


def error_body(message: str, debug: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": ERROR_TYPE, "message": message}
    if debug:
        body["debug"] = debug
    return body


class OParlError(Exception):
    status_code = 500

    def __init__(self, message: str, debug: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.debug = debug

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.debug)


class BadRequest(OParlError):
    status_code = 400


class Forbidden(OParlError):
    status_code = 403


class NotFound(OParlError):
    status_code = 404

    @classmethod
    def by_id(cls, type_name: str, object_id: int) -> NotFound:
        return cls(f"Kein Objekt vom Typ {type_name} mit der Kennung {object_id}.")

    @classmethod
    def bad_id(cls, text: str) -> NotFound:
        """An address whose id is no id of this server at all."""
        return cls(f"Kein Objekt mit der Kennung {text!r}.")

    @classmethod
    def by_key(cls, type_name: str, key: str) -> NotFound:
        return cls(f"Kein Objekt vom Typ {type_name} mit dem Schlüssel {key!r}.")


class Gone(OParlError):
    status_code = 410


class Unprocessable(OParlError):
    status_code = 422


class Where(NamedTuple):
    """A place in a write: the top-level record (type and key, when known) and the path below it.
    (A tuple: one is made for every field written.)"""

    type_name: str | None = None
    key: Any = None
    path: str = ""

    def at(self, suffix: str) -> Where:
        return Where(self.type_name, self.key, self.path + suffix)

    def __str__(self) -> str:
        """As error messages show it, at most 1000 characters (a path may hold a long property name)."""
        if self.type_name is None:
            return self.path.removeprefix(".")[:1000]
        # The key as repr: a lone surrogate in it is shown escaped.
        return f"{self.type_name} {repr(self.key)[:300]}{self.path}"[:1000]


class RecordError(Unprocessable):
    """A record that cannot be stored: `where` it failed (record type, key, path) and the `problem`."""

    def __init__(self, where: Where, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem
