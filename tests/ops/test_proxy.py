"""deploy/nginx-oparl.conf in front of a real `serve`: header and body read timeouts, and the
client's address (not the proxy's, not a forged X-Forwarded-For) for the rate limits.

Skipped where nginx is not installed (Debian: apt-get install nginx-light)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ops.test_serve import serving
from tests.servers import ROOT, free_port, wait_until_answering

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")
SITE = ROOT / "deploy" / "nginx-oparl.conf"
TIMEOUT = 2  # the test's client_header_timeout and client_body_timeout


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """(nginx's port, the server's log): the server limits 3 requests a minute per client."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPARL_", "PROMETHEUS_"))}
    env = {**clean, "OPARL_DATA_DIR": str(tmp_path / "data"), "OPARL_TRUSTED_PROXIES": "127.0.0.1",
           "OPARL_RATE_LIMIT": "3/minute", "OPARL_RATE_LIMIT_ALLOW": "", "OPARL_LOG_FORMAT": "json"}  # fmt: skip
    subprocess.run([sys.executable, "-m", "api.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    app_port, proxy_port, log = free_port(), free_port(), tmp_path / "serve.log"
    site = SITE.read_text().replace("127.0.0.1:8000", f"127.0.0.1:{app_port}")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{proxy_port};")
    site = re.sub(r"client_(header|body)_timeout \d+s;", rf"client_\1_timeout {TIMEOUT}s;", site)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log info;\nevents {{}}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {tmp_path}/body;\nproxy_temp_path {tmp_path}/proxy;\n"
        f"include {tmp_path}/site.conf;\n}}\n"
    )
    assert NGINX is not None
    with serving(env, app_port, log), (tmp_path / "nginx.out").open("wb") as out:
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                                 stdout=out, stderr=out)  # fmt: skip
        try:
            output = (tmp_path / "nginx.out").read_text
            wait_until_answering(f"http://127.0.0.1:{proxy_port}/healthz", nginx, 20, "nginx", output)
            yield proxy_port, log
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)


def _get(port: int, source: str, **headers: str) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source)) as client:
        return client.get(f"http://127.0.0.1:{port}/oparl/v1.1/system", headers=headers)


def test_limits_count_the_client_behind_the_proxy_not_its_claims(proxied: tuple[int, Path]) -> None:
    port, log = proxied
    forged = [_get(port, "127.0.0.3", **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(4)]
    assert forged == [404, 404, 404, 429]  # one client, whatever it claims
    assert _get(port, "127.0.0.4").status_code == 404  # another client has its own budget
    answer = _get(port, "127.0.0.4", **{"X-Request-ID": "via-proxy-1"})
    assert answer.headers["x-request-id"] == "via-proxy-1"
    assert answer.headers["ratelimit"] == f'"address";r=1;t={answer.headers["ratelimit"].rsplit("=", 1)[1]}'
    assert '"client":"127.0.0.3"' in log.read_text()


def _closed_after(port: int, data: bytes) -> tuple[float, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT * 5) as conn:
        conn.sendall(data)
        started, received = time.monotonic(), b""
        while chunk := conn.recv(65536):
            received += chunk
        return time.monotonic() - started, received


def test_headers_sent_too_slowly_are_cut_off(proxied: tuple[int, Path]) -> None:
    took, received = _closed_after(proxied[0], b"GET /oparl/v1.1/system HTTP/1.1\r\nHost: x\r\n")
    assert TIMEOUT - 0.5 <= took <= TIMEOUT + 3
    assert received == b"" or received.startswith(b"HTTP/1.1 408")


def test_a_body_sent_too_slowly_never_reaches_the_server(proxied: tuple[int, Path]) -> None:
    port, log = proxied
    request = (b"PUT /write/v1/paper/P-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer oparl_x\r\n"
               b"Content-Length: 100\r\n\r\n{\"na")  # fmt: skip
    took, received = _closed_after(port, request)
    assert TIMEOUT - 0.5 <= took <= TIMEOUT + 3
    assert received == b"" or received.startswith(b"HTTP/1.1 408")
    assert "/write/v1/paper/P-1" not in log.read_text()
