"""Apps with operations settings of a test's own, on the test's database session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.caching import generations
from api.deps import get_session, get_write_session
from api.readers import SessionReader
from api.settings import Settings

MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings, session: Session) -> Iterator[MakeClient]:
    """make_client(client=("203.0.113.5", 4000), rate_limit="3/minute", ...): a started TestClient."""
    with ExitStack() as stack:

        def make(client: tuple[str, int] = ("203.0.113.5", 40000), **overrides: Any) -> TestClient:
            app = create_app(settings.model_copy(update=overrides))
            app.dependency_overrides[get_session] = lambda: session
            app.dependency_overrides[get_write_session] = lambda: session
            test_client = stack.enter_context(
                TestClient(app, base_url="http://testserver", client=client, raise_server_exceptions=False)
            )
            app.state.read_generations = lambda tables: generations(session, tables)[0]
            app.state.stored_reader = SessionReader(session)
            return test_client

        yield make
