"""The sync client against a real router and engine: seed tutorial 003's walkthrough, and bad input."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from agenttier import (
    AgentTierClient,
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    ConnectionError,
    NotFoundError,
    PayloadTooLargeError,
    PolicyViolationError,
    RateLimitedError,
    ResourceLimitError,
    ServerError,
    ValidationError,
)


def test_health(client: AgentTierClient) -> None:
    health = client.health()
    assert health["status"] == "ok"
    assert isinstance(health["version"], str)


def test_lifecycle_exec_files_ports(client: AgentTierClient, namespace: str, tmp_path: Path) -> None:
    sandbox = client.create_sandbox(name="sdk-tutorial", template="minimal-shell", namespace=namespace)
    assert sandbox.status == "Creating"
    sandbox.wait_until_running(timeout=120)
    assert sandbox.status == "Running"

    result = sandbox.exec("echo $((2+2))")
    assert (result.stdout, result.exit_code) == ("4\n", 0)
    usage = sandbox.usage()
    assert usage["memory"]["limitBytes"] == 1 << 30  # the template's 1Gi, from the container's cgroup
    assert usage["pids"]["max"] == 512
    assert usage["storage"]["path"] == "/workspace"
    assert sandbox.exec(["sh", "-c", "echo oops >&2; exit 3"]).exit_code == 3
    assert sandbox.exec(["printf", "%s", "a b"]).stdout == "a b"

    sandbox.files.write("/workspace/data.txt", b"hello from python")
    assert sandbox.files.read("/workspace/data.txt") == b"hello from python"
    assert "data.txt" in [e.name for e in sandbox.files.list("/workspace")]
    local = tmp_path / "script.sh"
    local.write_bytes(b"\xff\x00 not utf-8")
    sandbox.files.upload(str(local), "/workspace/bin.dat")
    sandbox.files.download("/workspace/bin.dat", str(tmp_path / "back.dat"))
    assert (tmp_path / "back.dat").read_bytes() == b"\xff\x00 not utf-8"

    forward = sandbox.port_forwards.create(name="web", port=8000)
    assert (forward.name, forward.port) == ("web", 8000)
    assert [(f.name, f.port) for f in sandbox.port_forwards.list()] == [("web", 8000)]
    sandbox.port_forwards.delete("web")
    assert sandbox.port_forwards.list() == []

    assert [s.name for s in client.list_sandboxes(namespace=namespace)] == ["sdk-tutorial"]
    existing = client.get_sandbox("sdk-tutorial", namespace=namespace)
    assert existing.exec("cat /workspace/data.txt").stdout == "hello from python"

    sandbox.stop()
    sandbox.wait_until_stopped(timeout=60)
    with pytest.raises(ConflictError) as stopped:
        sandbox.exec("true")
    assert stopped.value.code == "SANDBOX_NOT_RUNNING"
    with pytest.raises(ConflictError):
        sandbox.usage()
    assert [e["reason"] for e in sandbox.events()][-2:] == ["Removed", "Stopped"]
    sandbox.resume()
    sandbox.wait_until_running(timeout=120)
    assert sandbox.files.read("/workspace/data.txt") == b"hello from python"
    sandbox.delete()
    # Deletion finishes when the controller has removed the container: wait for the 404.
    with pytest.raises(NotFoundError):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            client.get_sandbox("sdk-tutorial", namespace=namespace)
            time.sleep(0.1)


def test_errors_are_typed(client: AgentTierClient, namespace: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.get_sandbox("does-not-exist", namespace=namespace)
    assert missing.value.status_code == 404
    assert missing.value.code == "SANDBOX_NOT_FOUND"
    assert missing.value.request_id

    with pytest.raises(ValidationError) as bad:
        client.create_sandbox(
            name="too-much", template="minimal-shell", namespace=namespace,
            overrides={"resources": {"ephemeralStorage": "20Gi"}},
        )
    assert [d["field"] for d in bad.value.details] == ["resources.ephemeralStorage"]

    client.create_sandbox(name="twice", template="minimal-shell", namespace=namespace)
    with pytest.raises(ConflictError) as dup:
        client.create_sandbox(name="twice", template="minimal-shell", namespace=namespace)
    assert dup.value.code == "ALREADY_EXISTS"

    sb = client.get_sandbox("twice", namespace=namespace)
    with pytest.raises(PayloadTooLargeError):
        sb.files.write("/workspace/big", b"\0" * (32 * 1024 * 1024 + 1))


def test_unreachable_router_is_a_connection_error() -> None:
    with AgentTierClient(api_url="http://127.0.0.1:9") as c:
        with pytest.raises(ConnectionError):
            c.health()


def _canned(status: int, body: bytes, headers: dict[str, str] | None = None) -> AgentTierClient:
    def handler(_req: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers or {})

    return AgentTierClient(api_url="http://router.invalid", transport=httpx.MockTransport(handler))


def test_error_without_json_body_and_rate_limit() -> None:
    # Proxies answer errors in HTML or plain text: still a typed error with the text as message.
    with _canned(502, b"<html>Bad Gateway</html>") as c, pytest.raises(ServerError) as err:
        c.health()
    assert err.value.status_code == 502 and "Bad Gateway" in err.value.message
    with _canned(429, b'{"code":"RATE_LIMITED","message":"slow down"}', {"retry-after": "3"}) as c:
        with pytest.raises(RateLimitedError) as limited:
            c.health()
    assert limited.value.retry_after == 3.0


def test_credentials_chain(api_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fixture's client found `up`'s admin key in the CLI config; without one the router refuses.
    monkeypatch.setenv("AGENTTIER_CONFIG", str(tmp_path / "missing.json"))
    with AgentTierClient(api_url=api_url) as anonymous:
        with pytest.raises(AuthenticationError) as refused:
            anonymous.list_sandboxes()
    assert refused.value.code == "UNAUTHENTICATED"
    with AgentTierClient(api_url=api_url, api_key="atk_not-a-real-key") as wrong:
        with pytest.raises(AuthenticationError):
            wrong.list_sandboxes()


def test_seed_product_error_bodies() -> None:
    # A seed-product router names the error with a word in `error` and no code.
    body = b'{"error": "policy_violation", "violations": [{"code": "maxCpu", "message": "cpu over 4"}]}'
    with _canned(403, body) as c, pytest.raises(PolicyViolationError) as policy:
        c.health()
    assert policy.value.violations == [{"code": "maxCpu", "message": "cpu over 4"}]
    with _canned(429, b'{"error": "concurrency_exceeded", "limit": 3}', {"retry-after": "5"}) as c:
        with pytest.raises(RateLimitedError) as busy:
            c.health()
    assert busy.value.retry_after == 5.0
    with _canned(403, b'{"error": "forbidden"}') as c, pytest.raises(AuthorizationError) as denied:
        c.health()
    assert not isinstance(denied.value, PolicyViolationError) and denied.value.message == "forbidden"


def test_more_than_the_machine_is_a_policy_and_a_validation_error(client: AgentTierClient, namespace: str) -> None:
    with pytest.raises(ResourceLimitError) as over:
        client.create_sandbox(name="too-much", template="minimal-shell", namespace=namespace,
                              overrides={"resources": {"cpu": "999"}})
    assert isinstance(over.value, PolicyViolationError) and isinstance(over.value, ValidationError)
    assert over.value.status_code == 422
    assert over.value.violations and "resources.limits.cpu" in over.value.violations[0]["message"]
