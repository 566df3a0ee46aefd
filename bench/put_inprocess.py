"""200 PUTs of new Papers through the app in process (no HTTP server, no network): the write route,
the loader and the commit alone. Usage: PYTHONPATH=CHECKOUT python bench/put_inprocess.py CHECKOUT"""

import os
import sys
import tempfile
import time
from pathlib import Path

root = Path(sys.argv[1])
sys.path.insert(0, str(root))
os.chdir(root)
tmp = Path(tempfile.mkdtemp())
os.environ["OPARL_DATA_DIR"] = str(tmp)
from api.cli import main

main(["migrate"])
main(["load-fixtures", "fixtures/luebeck"])
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

settings = Settings()
import contextlib
import io

out = io.StringIO()
with contextlib.redirect_stdout(out):
    main(["token", "create", "bench", "--scope", "write"])
secret = out.getvalue().strip().splitlines()[-1]
with TestClient(create_app(settings)) as c:
    h = {"Authorization": f"Bearer {secret}"}
    body = c.get("/oparl/v1.1/body").json()["data"][0]["id"]
    for i in range(20):
        c.put(f"/write/v1/paper/w{i}", json={"name": "x", "body": body}, headers=h)
    t = time.process_time()
    w = time.perf_counter()
    for i in range(200):
        r = c.put(f"/write/v1/paper/b{i}", json={"name": f"Vorlage {i}", "body": body}, headers=h)
        assert r.status_code == 201, r.text
    print(f"{root.name}: 200 PUTs cpu {time.process_time() - t:.2f}s wall {time.perf_counter() - w:.2f}s")
