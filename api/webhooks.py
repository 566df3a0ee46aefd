"""Webhook delivery as the server runs it: from settings, in a background thread of each worker
(OPARL_WEBHOOK_DELIVER_IN_WORKERS) or in `oparl-server deliver`. Only the lease holder delivers."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from sqlalchemy import Engine

from api.settings import Settings
from models.db import make_sessionmaker
from oparl.urls import UrlBuilder
from oparl.webhooks.deliver import Deliverer, Policy, Sender, run
from oparl.webhooks.lease import Lease

log = logging.getLogger("oparl.webhooks")


def policy(settings: Settings) -> Policy:
    return Policy(
        batch=settings.webhook_batch,
        timeout=settings.webhook_timeout,
        max_failures=settings.webhook_max_failures,
        backoff=settings.webhook_backoff_seconds,
        backoff_max=settings.webhook_backoff_max_seconds,
        networks=settings.webhook_networks,
    )


def owner_name() -> str:
    """Unique per process and run, readable in the lease row: host, pid, a random part."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def make_deliverer(settings: Settings, engine: Engine) -> Deliverer:
    rules = policy(settings)
    return Deliverer(
        make_sessionmaker(engine.execution_options(sqlite_immediate=True)),
        UrlBuilder(settings.public_base_url),
        rules,
        Sender(rules.networks, rules.timeout),
        Lease(owner_name(), settings.webhook_lease_seconds),
        tz=settings.zone,
    )


class Background:
    """The delivery loop in a daemon thread; `stop` ends it and gives the lease up."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.deliverer = make_deliverer(settings, engine)
        self.interval = settings.webhook_interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="webhook-delivery", daemon=True)

    def start(self) -> Background:
        self.thread.start()
        return self

    def _loop(self) -> None:
        run(self.deliverer, self.stopping.wait, self.interval, lambda exc: log.warning("webhook delivery: %r", exc))

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=self.deliverer.policy.timeout + 5)
        try:
            with self.deliverer.sessions() as session:
                self.deliverer.lease.release(session)
        except Exception as exc:  # shutting down: the lease then expires by itself
            log.warning("webhook lease not released: %r", exc)
        self.deliverer.sender.close()
