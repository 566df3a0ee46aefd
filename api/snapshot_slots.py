"""How many snapshots are streamed at once: a lease per snapshot, refused (429) beyond the limit.

With OPARL_REDIS_URL the leases are shared by every worker and host (a sorted set of lease ids
scored by their expiry, taken by one atomic script, renewed while the snapshot streams, so a
crashed worker's lease runs out by itself); without it each worker counts its own.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis  # imported where the leases are shared: 4 MB of a worker's memory otherwise

# Seconds a lease lasts unless renewed; a streaming snapshot renews it every third of that.
LEASE_SECONDS = 60.0
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  return 1
end
return 0
"""


class Lease(Protocol):
    def renew(self) -> None: ...
    def release(self) -> None: ...


class Slots(Protocol):
    def take(self) -> Lease | None: ...


class _LocalLease:
    def __init__(self, semaphore: threading.BoundedSemaphore) -> None:
        self.semaphore, self.held = semaphore, True

    def renew(self) -> None:
        pass

    def release(self) -> None:
        if self.held:
            self.held = False
            self.semaphore.release()


class LocalSlots:
    def __init__(self, limit: int) -> None:
        self.semaphore = threading.BoundedSemaphore(limit)

    def take(self) -> Lease | None:
        return _LocalLease(self.semaphore) if self.semaphore.acquire(blocking=False) else None


class _RedisLease:
    def __init__(self, client: redis.Redis, key: str, member: str) -> None:
        self.client, self.key, self.member = client, key, member
        self.renewed = time.time()

    def renew(self) -> None:
        now = time.time()
        if now - self.renewed >= LEASE_SECONDS / 3:
            self.renewed = now
            self.client.zadd(self.key, {self.member: now + LEASE_SECONDS}, xx=True)

    def release(self) -> None:
        self.client.zrem(self.key, self.member)


class RedisSlots:
    def __init__(self, url: str, prefix: str, limit: int) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.key, self.limit = f"{prefix}:snapshots", limit
        self.script = self.client.register_script(_TAKE)

    def take(self) -> Lease | None:
        now, member = time.time(), uuid.uuid4().hex
        taken = self.script(keys=[self.key], args=[now, now + LEASE_SECONDS, self.limit, member])
        return _RedisLease(self.client, self.key, member) if taken == 1 else None


def make_slots(redis_url: str, prefix: str, limit: int) -> Slots:
    return RedisSlots(redis_url, prefix, limit) if redis_url else LocalSlots(limit)
