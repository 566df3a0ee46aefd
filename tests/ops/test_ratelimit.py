"""Rate limits: 429 with Retry-After and the IETF headers, per address and per token, shared
through Redis across app instances, allow-list, and X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import uuid

import pytest
import redis

from api.netaddr import client_address, parse_networks
from tests.ops.conftest import MakeClient

REDIS_URL = "redis://127.0.0.1:6379/0"
SYSTEM = "/oparl/v1.1/system"
ERROR = "https://schema.oparl.org/1.1/Error"


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "memory":
        return {"redis_url": ""}
    _redis_or_skip()
    return {"redis_url": REDIS_URL, "rate_limit_prefix": f"oparl-test-{uuid.uuid4().hex}"}


def test_the_fourth_request_of_three_a_minute_is_a_429_error_with_headers(
    make_client: MakeClient, storage: dict[str, str]
) -> None:
    client = make_client(rate_limit="3/minute", **storage)
    answers = [client.get(SYSTEM) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [404, 404, 404]  # no System yet: limits count anyway
    assert [a.headers["ratelimit"].split(";")[1] for a in answers[:3]] == ["r=2", "r=1", "r=0"]
    assert answers[0].headers["ratelimit-policy"] == '"address";q=3;w=60'
    refused = answers[3]
    assert refused.status_code == 429
    assert refused.json()["type"] == ERROR
    assert refused.headers["access-control-allow-origin"] == "*"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-policy"] == '"address";q=3;w=60'
    assert refused.headers["ratelimit"] == f'"address";r=0;t={refused.headers["retry-after"]}'


def test_two_app_instances_share_one_limit_through_redis(make_client: MakeClient) -> None:
    _redis_or_skip()
    shared = {"redis_url": REDIS_URL, "rate_limit_prefix": f"oparl-test-{uuid.uuid4().hex}", "rate_limit": "4/minute"}
    first, second = make_client(**shared), make_client(**shared)
    statuses = [c.get(SYSTEM).status_code for c in (first, second, first, second, first, second)]
    assert statuses == [404, 404, 404, 404, 429, 429]


def test_memory_counts_per_instance(make_client: MakeClient) -> None:
    first, second = make_client(rate_limit="2/minute"), make_client(rate_limit="2/minute")
    assert [first.get(SYSTEM).status_code for _ in range(3)] == [404, 404, 429]
    assert second.get(SYSTEM).status_code == 404


def test_addresses_are_counted_apart(make_client: MakeClient) -> None:
    one = make_client(client=("198.51.100.1", 1), rate_limit="1/minute")
    assert [one.get(SYSTEM).status_code for _ in range(2)] == [404, 429]
    other = make_client(client=("198.51.100.2", 1), rate_limit="1/minute")
    assert other.get(SYSTEM).status_code == 404


def test_an_allow_listed_client_is_never_limited(make_client: MakeClient) -> None:
    client = make_client(client=("10.1.2.3", 1), rate_limit="1/minute", rate_limit_allow=["10.0.0.0/8"])
    answers = [client.get(SYSTEM) for _ in range(5)]
    assert {a.status_code for a in answers} == {404}
    assert "ratelimit" not in answers[0].headers


def test_loopback_is_allow_listed_by_default(make_client: MakeClient) -> None:
    client = make_client(client=("127.0.0.1", 1), rate_limit="1/minute")
    assert [client.get(SYSTEM).status_code for _ in range(3)] == [404, 404, 404]


def test_health_and_metrics_are_not_limited(make_client: MakeClient) -> None:
    client = make_client(client=("127.0.0.1", 1), rate_limit="1/minute", rate_limit_allow=[])
    assert [client.get(SYSTEM).status_code for _ in range(2)] == [404, 429]
    assert {client.get("/healthz").status_code for _ in range(3)} == {200}
    assert {client.get("/readyz").status_code for _ in range(3)} == {200}
    assert {client.get("/metrics").status_code for _ in range(3)} == {200}


def test_tokens_have_their_own_budget(make_client: MakeClient, tokens: dict[str, str]) -> None:
    client = make_client(rate_limit="1/minute", rate_limit_token="3/minute")
    assert client.get(SYSTEM).status_code == 404
    assert client.get(SYSTEM).status_code == 429  # the address is spent
    insider = {"Authorization": tokens["insider"]}
    answers = [client.get(SYSTEM, headers=insider) for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert answers[0].headers["ratelimit-policy"] == '"token";q=3;w=60'
    assert client.get(SYSTEM, headers={"Authorization": tokens["writer"]}).status_code == 404


def test_guessed_tokens_are_cut_off_per_address(make_client: MakeClient) -> None:
    client = make_client(rate_limit_token="100/minute", rate_limit_auth_failures="2/minute")
    guesses = [
        client.get(SYSTEM, headers={"Authorization": f"Bearer oparl_{uuid.uuid4().hex[:16]}_{'x' * 43}"})
        for _ in range(3)
    ]
    assert [g.status_code for g in guesses] == [401, 401, 429]
    assert guesses[2].headers["ratelimit-policy"] == '"auth-failures";q=2;w=60'


def test_several_windows_are_several_policies(make_client: MakeClient) -> None:
    client = make_client(rate_limit="2/second;100/minute")
    answer = client.get(SYSTEM)
    assert answer.headers["ratelimit-policy"] == '"address-1";q=2;w=1, "address-2";q=100;w=60'
    assert answer.headers["ratelimit"] == '"address-1";r=1;t=1, "address-2";r=99;t=60'


def test_forwarded_for_counts_only_from_a_trusted_proxy(make_client: MakeClient) -> None:
    proxied = make_client(client=("192.0.2.10", 1), rate_limit="1/minute", trusted_proxies=["192.0.2.10"])
    assert proxied.get(SYSTEM, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 404
    assert proxied.get(SYSTEM, headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 404
    assert proxied.get(SYSTEM, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    direct = make_client(client=("198.51.100.9", 1), rate_limit="1/minute", trusted_proxies=["192.0.2.10"])
    assert direct.get(SYSTEM, headers={"X-Forwarded-For": "203.0.113.3"}).status_code == 404
    assert direct.get(SYSTEM, headers={"X-Forwarded-For": "203.0.113.4"}).status_code == 429  # header ignored


def test_redis_down_lets_requests_pass(make_client: MakeClient) -> None:
    client = make_client(rate_limit="1/minute", redis_url="redis://127.0.0.1:1/0")
    assert [client.get(SYSTEM).status_code for _ in range(3)] == [404, 404, 404]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.10", "203.0.113.1", "203.0.113.1"),
        ("192.0.2.10", "198.51.100.66, 203.0.113.1", "203.0.113.1"),  # the client's own claim is left of it
        ("192.0.2.10", "203.0.113.1, 192.0.2.11", "203.0.113.1"),  # a chain of trusted proxies
        ("192.0.2.10", "not-an-address", "192.0.2.10"),
        ("192.0.2.10", "", "192.0.2.10"),
        ("198.51.100.5", "203.0.113.1", "198.51.100.5"),  # untrusted peer: header ignored
        ("192.0.2.10", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(peer: str, forwarded: str, expected: str) -> None:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"client": (peer, 1), "headers": headers}
    assert client_address(scope, parse_networks(["192.0.2.0/28"])) == expected
