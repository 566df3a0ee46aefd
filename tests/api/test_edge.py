"""The HTTP edge: CORS for browsers (preflight, exposed headers, `*` everywhere), `Allow`, and the
security headers on every answer."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi import Response
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_session
from api.settings import Settings
from tests.factories import make_system

ORIGIN = {"Origin": "https://ratsinfo.example.net"}
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def assert_secure(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert {name: headers.get(name) for name in SECURITY} == SECURITY


class TestPreflight:
    def test_a_web_app_may_send_a_token(self, client: TestClient) -> None:
        request = {**ORIGIN, "Access-Control-Request-Method": "PUT",
                   "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
        response = client.options("/write/v1/paper/p1", headers=request)
        assert response.status_code == 204
        assert response.content == b""
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["access-control-allow-methods"] == "GET, HEAD, POST, PUT, PATCH, DELETE"
        assert response.headers["access-control-allow-headers"] == "authorization, content-type"
        assert response.headers["access-control-max-age"] == "7200"
        assert "access-control-allow-credentials" not in response.headers
        assert_secure(response)

    def test_a_method_the_api_never_answers_is_refused_with_an_error_object(self, client: TestClient) -> None:
        response = client.options("/oparl/v1.1/system", headers={**ORIGIN, "Access-Control-Request-Method": "TRACE"})
        assert response.status_code == 400
        assert response.json() == {
            "type": "https://schema.oparl.org/1.1/Error",
            "message": "Diese CORS-Anfrage ist nicht erlaubt.",
            "debug": "Disallowed CORS method",
        }
        assert response.headers["access-control-allow-origin"] == "*"

    @pytest.mark.parametrize(
        ("path", "allow"),
        [
            ("/oparl/v1.1/system", "GET, HEAD, OPTIONS"),
            ("/oparl/v1.1/body/1/paper", "GET, HEAD, OPTIONS"),
            ("/write/v1/paper/p1", "PUT, PATCH, DELETE, OPTIONS"),
            ("/write/v1/batch", "POST, OPTIONS"),
            ("/nowhere", "OPTIONS"),
        ],
    )
    def test_options_without_cors_says_what_is_allowed(self, client: TestClient, path: str, allow: str) -> None:
        response = client.options(path)
        assert response.status_code == 204
        assert response.headers["allow"] == allow
        assert response.headers["access-control-allow-origin"] == "*"


class TestAllow:
    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("POST", "/oparl/v1.1/system", "GET, HEAD, OPTIONS"),
            ("DELETE", "/oparl/v1.1/paper/1", "GET, HEAD, OPTIONS"),
            ("GET", "/write/v1/paper/p1", "PUT, PATCH, DELETE, OPTIONS"),
            ("POST", "/docs-assets/swagger-ui.css", "GET, HEAD, OPTIONS"),
        ],
    )
    def test_405_names_every_method_of_the_path(self, client: TestClient, method: str, path: str, allow: str) -> None:
        # The write API refuses a body without a token first; GET has none.
        response = client.request(method, path, headers={"Authorization": "Bearer x"})
        assert response.status_code == 405
        assert response.headers["allow"] == allow
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"
        assert response.headers["access-control-allow-origin"] == "*"


class TestExposedHeaders:
    def test_scripts_may_read_validators_links_and_limits(self, client: TestClient, session: Session) -> None:
        make_system(session)
        response = client.get("/oparl/v1.1/system", headers=ORIGIN)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        exposed = [h.strip() for h in response.headers["access-control-expose-headers"].split(",")]
        for header in ("ETag", "Last-Modified", "Link", "Retry-After", "RateLimit", "RateLimit-Policy", "X-Request-ID"):
            assert header in exposed
        assert "origin" not in response.headers.get("vary", "").lower()  # `*` whatever the origin

        again = client.get("/oparl/v1.1/system", headers={**ORIGIN, "If-None-Match": response.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["access-control-allow-origin"] == "*"
        assert "ETag" in again.headers["access-control-expose-headers"]
        assert_secure(again)

    def test_errors_carry_cors_with_or_without_origin(self, client: TestClient) -> None:
        for headers in (ORIGIN, {}):
            response = client.get("/oparl/v1.1/paper/123", headers=headers)
            assert response.status_code == 404
            assert response.headers["access-control-allow-origin"] == "*"
            assert_secure(response)


class TestSecurityHeaders:
    def test_on_answers_and_errors(self, client: TestClient, session: Session) -> None:
        make_system(session)
        assert_secure(client.get("/oparl/v1.1/system"))
        assert_secure(client.get("/nowhere"))
        assert_secure(client.post("/oparl/v1.1/system"))
        assert_secure(client.get("/openapi.json"))
        assert_secure(client.get("/docs-assets/swagger-ui.css"))

    def test_on_the_last_resort_500(self, settings: Settings) -> None:
        def broken() -> Session:
            raise RuntimeError("a bug")

        app = create_app(settings)
        app.dependency_overrides[get_session] = broken
        with TestClient(app, raise_server_exceptions=False) as test_client:
            response = test_client.get("/oparl/v1.1/system")
        assert response.status_code == 500
        assert response.headers["access-control-allow-origin"] == "*"
        assert_secure(response)

    def test_a_policy_an_answer_sets_itself_is_kept(self, settings: Settings) -> None:
        app = create_app(settings)

        @app.get("/sandboxed")
        def sandboxed() -> Response:
            return Response(b"<b>x</b>", media_type="text/html", headers={"Content-Security-Policy": "sandbox"})

        with TestClient(app) as test_client:
            response = test_client.get("/sandboxed")
        assert response.headers.get_list("content-security-policy") == ["sandbox"]
        assert response.headers["x-content-type-options"] == "nosniff"

    def test_the_docs_page_may_run_swagger_ui_and_nothing_else(self, client: TestClient) -> None:
        page = client.get("/docs")
        policy = page.headers["content-security-policy"]
        scripts = re.findall(rb"<script>(.*?)</script>", page.content, re.DOTALL)
        assert len(scripts) == 1
        digest = base64.b64encode(hashlib.sha256(scripts[0]).digest()).decode()
        assert policy == (
            f"default-src 'none'; script-src 'self' 'sha256-{digest}'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        )
        for asset in re.findall(rb'(?:src|href)="(/[^"]+)"', page.content):
            assert client.get(asset.decode()).status_code == 200, asset
        assert page.headers["x-frame-options"] == "DENY"
