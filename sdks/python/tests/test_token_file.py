"""
The last link of the credential chain, as the TypeScript SDK has it: an in-cluster ServiceAccount token
file (``AGENTTIER_TOKEN_FILE``, else ``/var/run/secrets/agenttier/token`` when it exists), read again on
every request because the kubelet rotates projected tokens in place. First against a recording transport
(what each request carries, sync and async, terminal headers too), then against a real ``agenttier up``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import httpx
import pytest

import agenttier._core as core
from agenttier import AgentTierClient, AsyncAgentTierClient, AuthenticationError
from agenttier._core import Connection

CREDENTIAL_ENV = ("AGENTTIER_API_KEY", "AGENTTIER_TOKEN", "AGENTTIER_BEARER_TOKEN", "AGENTTIER_TOKEN_FILE")


@pytest.fixture()
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No credential in the environment or a CLI config, and no default token mount: only what a test adds."""
    for var in CREDENTIAL_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AGENTTIER_CONFIG", str(tmp_path / "no-cli-config.json"))
    monkeypatch.setattr(core, "DEFAULT_TOKEN_FILE", str(tmp_path / "no-default-mount" / "token"))
    yield tmp_path


def recording() -> tuple[list[str | None], httpx.MockTransport]:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization")
        seen.append(auth)
        if auth is None:
            return httpx.Response(401, json={"error": "no credential", "code": "UNAUTHENTICATED", "message": "x"})
        return httpx.Response(200, json={"id": auth.removeprefix("Bearer ")})

    return seen, httpx.MockTransport(handler)


def test_reads_the_named_file_again_for_every_request(no_credentials: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = no_credentials / "token"
    token.write_text("first\n")
    monkeypatch.setenv("AGENTTIER_TOKEN_FILE", str(token))
    seen, transport = recording()
    with AgentTierClient(api_url="http://router.test", transport=transport) as c:
        assert c.current_user()["id"] == "first"
        token.write_text("rotated")  # the kubelet writes the new token in place
        assert c.current_user()["id"] == "rotated"
        token.unlink()
        with pytest.raises(AuthenticationError):
            c.current_user()
        token.write_text("back")
        assert c.current_user()["id"] == "back"
    assert seen == ["Bearer first", "Bearer rotated", None, "Bearer back"]


def test_async_client_reads_it_per_request_too(no_credentials: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    token = no_credentials / "token"
    token.write_text("a1")
    monkeypatch.setenv("AGENTTIER_TOKEN_FILE", str(token))
    seen: list[str | None] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"id": "x"})

    async def run() -> None:
        async with AsyncAgentTierClient(api_url="http://router.test", transport=httpx.MockTransport(handler)) as c:
            await c.current_user()
            token.write_text("a2")
            await c.current_user()

    asyncio.run(run())
    assert seen == ["Bearer a1", "Bearer a2"]


def test_the_default_mount_when_it_exists(no_credentials: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mount = no_credentials / "mount" / "token"
    monkeypatch.setattr(core, "DEFAULT_TOKEN_FILE", str(mount))
    assert Connection.resolve("http://r", None, None, 5).token_file is None  # not mounted: no credential
    mount.parent.mkdir()
    mount.write_text("projected")
    conn = Connection.resolve("http://r", None, None, 5)
    assert conn.token_file == str(mount)
    # WebSockets (terminals) take their headers at connect time from the same place.
    assert conn.current_headers()["authorization"] == "Bearer projected"
    mount.write_text("rotated")
    assert conn.current_headers()["authorization"] == "Bearer rotated"


def test_only_when_nothing_earlier_in_the_chain_gives_a_credential(
    no_credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = no_credentials / "token"
    token.write_text("from-file")
    monkeypatch.setenv("AGENTTIER_TOKEN_FILE", str(token))
    explicit = Connection.resolve("http://r", "atk_explicit", None, 5)
    assert (explicit.token_file, explicit.current_headers().get("authorization")) == (None, None)
    monkeypatch.setenv("AGENTTIER_TOKEN", "env-token")
    from_env = Connection.resolve("http://r", None, None, 5)
    assert (from_env.token_file, from_env.current_headers()["authorization"]) == (None, "Bearer env-token")
    monkeypatch.delenv("AGENTTIER_TOKEN")
    config = no_credentials / "cli-config.json"
    config.write_text(json.dumps({"api_key": "atk_saved"}))
    monkeypatch.setenv("AGENTTIER_CONFIG", str(config))
    saved = Connection.resolve("http://r", None, None, 5)
    assert (saved.token_file, saved.current_headers().get("x-api-key")) == (None, "atk_saved")


def test_an_unreadable_or_oversized_file_sends_no_credential(no_credentials: Path) -> None:
    directory = no_credentials / "a-directory"
    directory.mkdir()
    assert core.read_token_file(str(directory)) is None
    assert core.read_token_file(str(no_credentials / "missing")) is None
    blank = no_credentials / "blank"
    blank.write_text(" \n")
    assert core.read_token_file(str(blank)) is None
    binary = no_credentials / "binary"
    binary.write_bytes(b"\xff\xfe")
    assert core.read_token_file(str(binary)) is None
    huge = no_credentials / "huge"
    huge.write_text("x" * (core.MAX_TOKEN_FILE_BYTES * 4))
    assert len(core.read_token_file(str(huge)) or "") == core.MAX_TOKEN_FILE_BYTES


@pytest.fixture()
def admin_key(api_url: str) -> str:
    """The admin key ``up`` saved in the session's CLI config (read before ``no_credentials`` hides it)."""
    with open(os.environ["AGENTTIER_CONFIG"], encoding="utf-8") as f:
        return str(json.load(f)["api_key"])


def test_against_a_real_router(
    api_url: str, admin_key: str, no_credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = httpx.post(
        f"{api_url}/api/v1/user/api-keys",
        headers={"x-api-key": admin_key},
        json={"name": "py-token-file", "user": {"id": "py-token-user"}},
    )
    assert made.status_code == 201, made.text
    token = no_credentials / "token"
    token.write_text(admin_key)
    monkeypatch.setenv("AGENTTIER_TOKEN_FILE", str(token))
    with AgentTierClient(api_url=api_url) as c:
        assert c.current_user()["id"] == "admin"
        token.write_text(made.json()["key"])  # rotated in place: the next request is the new identity
        assert c.current_user()["id"] == "py-token-user"
        token.unlink()
        with pytest.raises(AuthenticationError):
            c.current_user()
