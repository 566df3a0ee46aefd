"""`webhook` (subscriptions from the command line, for the operator: any token's) and `deliver`
(the delivery loop, or one round with --once)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from sqlalchemy import select

from api.commands import Refused
from api.settings import Settings
from api.webhooks import make_deliverer
from models import ApiToken, WebhookSubscription
from models.db import check_schema, make_engine, make_sessionmaker
from oparl.urls import UrlBuilder
from oparl.webhooks import subscriptions
from oparl.webhooks.deliver import run


def add_commands(commands: Any) -> None:
    hooks = commands.add_parser("webhook", help="webhook subscriptions to a Body's public change feed")
    actions = hooks.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="subscribe a receiver; prints the signing secret (once)")
    create.add_argument("url", help="the receiver (http or https, public addresses unless allowed)")
    create.add_argument("--token", type=int, required=True, metavar="ID", help="the owner (a token, scope webhooks)")
    create.add_argument("--body", type=int, required=True, metavar="ID", help="the Body's id")
    create.add_argument("--type", action="append", metavar="TYPE", help="repeatable: only these types (e.g. Paper)")
    create.add_argument("--after", metavar="CURSOR", help="start after this feed cursor (default: from now on)")
    listing = actions.add_parser("list", help="subscriptions with their state (never their secrets)")
    listing.add_argument("--token", type=int, metavar="ID", help="only this token's")
    for name, text in (("remove", "remove a subscription and its log"), ("enable", "deliver again after disabling")):
        actions.add_parser(name, help=text).add_argument("id", type=int)
    log = actions.add_parser("log", help="a subscription's delivery log, newest first")
    log.add_argument("id", type=int)
    log.add_argument("--limit", type=int, default=50)
    deliver = commands.add_parser("deliver", help="deliver webhooks (while this process holds the lease)")
    deliver.add_argument("--once", action="store_true", help="one round, then exit")


def webhook(settings: Settings, args: argparse.Namespace) -> None:
    engine = make_engine(url=settings.database_url)
    urls = UrlBuilder(settings.public_base_url)
    try:
        check_schema(engine)
        with make_sessionmaker(engine.execution_options(sqlite_immediate=True))() as session, session.begin():
            if args.action == "create":
                token = session.get(ApiToken, args.token)
                if token is None or token.revoked is not None or "webhooks" not in token.scopes:
                    raise Refused(f"token {args.token}: no active token with the scope webhooks")
                row = subscriptions.create(
                    session, urls, token_id=token.id, body=args.body, url=args.url, types=args.type,
                    after=args.after, networks=settings.webhook_networks,
                )  # fmt: skip
                print(f"subscription {row.id} to {urls.object('Body', row.body_id)} -> {row.url}\n{row.secret}")
                print("The secret is shown this once (receivers verify signatures with it).", file=sys.stderr)
            elif args.action == "list":
                _list(session, args.token, urls)
            elif args.action == "remove":
                subscriptions.remove(session, None, args.id)
                print(f"subscription {args.id} removed")
            elif args.action == "enable":
                subscriptions.enable(session, None, args.id)
                print(f"subscription {args.id} enabled")
            else:
                print("at\tattempt\tentries\tstatus\terror\tmessage id")
                for d in subscriptions.deliveries(session, None, args.id, args.limit):
                    cells = (d.at.isoformat(), d.attempt, d.entries, d.status or "-", d.error or "-", d.message_id)
                    print("\t".join(str(c) for c in cells))
    finally:
        engine.dispose()


def _list(session: Any, token_id: int | None, urls: UrlBuilder) -> None:
    print("id\ttoken\tbody\turl\ttypes\tstate\tfailures")
    query = select(WebhookSubscription).order_by(WebhookSubscription.id)
    if token_id is not None:
        query = query.where(WebhookSubscription.token_id == token_id)
    for row in session.scalars(query):
        state = "active" if row.active else f"disabled ({row.disabled_reason})"
        cells = [row.id, row.token_id, urls.object("Body", row.body_id), row.url, ",".join(row.types or ["*"]), state,
                 row.failures]  # fmt: skip
        print("\t".join(str(c) for c in cells))


def deliver(settings: Settings, args: argparse.Namespace) -> None:
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
        deliverer = make_deliverer(settings, engine)
        if args.once:
            print(f"{deliverer.run_once()} deliveries")
            return
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        try:
            run(deliverer, stopping.wait, settings.webhook_interval, lambda exc: print(f"oparl-server deliver: {exc!r}",
                                                                                       file=sys.stderr))  # fmt: skip
        finally:
            with deliverer.sessions() as session:
                deliverer.lease.release(session)
            deliverer.sender.close()
    finally:
        engine.dispose()
