"""`pip install .` gives a working server: a wheel carries everything read at run time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx

from tests.servers import free_port
from tests.test_cli import wait_for

ROOT = Path(__file__).resolve().parent.parent


def test_a_wheel_installed_elsewhere_serves_the_demo(tmp_path: Path) -> None:
    """Built from a copy of the sources (no stale build/ of the checkout), installed into a fresh
    venv that borrows the dependencies from this one (a .pth line: fast, no downloads), run from
    a folder with no sources in reach."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("api", "models", "oparl", "fixtures"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True, cwd=tmp_path)
    [wheel] = wheels.glob("oparl_server-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "shared-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPARL_", "PYTHON"))}
    env["OPARL_DATA_DIR"] = str(elsewhere / "data")
    where = subprocess.run(
        [str(python), "-c", "import api.cli; print(api.cli.__file__)"],
        check=True, capture_output=True, text=True, cwd=elsewhere, env=env,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(venv)
    version = subprocess.run([str(venv / "bin" / "oparl-server"), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("oparl-server 0.")

    port = free_port()
    demo = subprocess.Popen(
        [str(venv / "bin" / "oparl-server"), "demo", "--port", str(port)],
        cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        system = wait_for(f"http://127.0.0.1:{port}/oparl/v1.1/system", demo, seconds=60).json()
        body = httpx.get(system["body"]).json()["data"][0]
        papers = httpx.get(body["paper"]).json()["data"]
        assert len(papers) == 4
        file = next(f for paper in papers for f in paper.get("auxiliaryFile", []))
        assert httpx.get(file["accessUrl"]).status_code == 200  # the fixture's content files came along
    finally:
        demo.terminate()
        demo.communicate(timeout=10)
