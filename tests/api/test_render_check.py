"""A server whose stored renderings were made for other settings says so at start-up."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from api.render_check import stale_warning
from api.settings import Settings
from oparl.catalogue import TYPES
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder


@pytest.mark.usefixtures("luebeck")
def test_renderings_of_another_base_url_are_named_at_start_up(session: Session, settings: Settings) -> None:
    ours = settings.snapshots
    unrendered = stale_warning(session, ours)
    assert unrendered is not None
    assert unrendered.endswith("Run `oparl-server render` with these settings once.")
    ours.refresh(session, {t.model: set(session.scalars(select(t.model.id))) for t in TYPES.values()})
    assert stale_warning(session, ours) is None
    proxied = Snapshots(UrlBuilder("https://ratsinfo.example.org"), ZoneInfo(settings.timezone), settings.publisher)
    warning = stale_warning(session, proxied)
    assert warning is not None
    sampled = sum(min(50, len(session.scalars(select(t.model.id)).all())) for t in TYPES.values())
    assert warning.startswith(f"{sampled} of {sampled} objects sampled have no stored rendering for these settings "
                              "(public base URL https://ratsinfo.example.org, time zone Europe/Berlin, ")  # fmt: skip


def test_an_empty_database_is_not_stale(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(create_app(settings)):
        pass
    assert [r for r in caplog.records if r.name == "api.render_check"] == []
