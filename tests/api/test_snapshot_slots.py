"""Snapshot leases: per worker without Redis, shared by every worker (and host) with it."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from api import snapshot_slots
from api.snapshot_slots import LocalSlots, RedisSlots

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_local_slots_refuse_beyond_the_limit_until_one_is_released() -> None:
    slots = LocalSlots(2)
    first, second = slots.take(), slots.take()
    assert first is not None
    assert second is not None
    assert slots.take() is None
    first.release()
    first.release()  # twice is once
    assert slots.take() is not None
    assert slots.take() is None


@pytest.fixture
def prefix() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return f"test-{uuid.uuid4().hex}"


def test_two_workers_share_the_limit_through_redis(prefix: str) -> None:
    one, other = RedisSlots(REDIS_URL, prefix, 2), RedisSlots(REDIS_URL, prefix, 2)
    lease = one.take()
    assert lease is not None
    assert other.take() is not None
    assert one.take() is None
    assert other.take() is None
    lease.release()
    assert other.take() is not None


def test_a_lease_not_renewed_runs_out(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that died mid-snapshot holds its lease only until it expires."""
    slots = RedisSlots(REDIS_URL, prefix, 1)
    assert slots.take() is not None
    assert slots.take() is None
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + snapshot_slots.LEASE_SECONDS + 1)
    assert slots.take() is not None
