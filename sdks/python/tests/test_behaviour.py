"""
The behavioural suite both clients pass (sync, and async through ``flavours.Blocking``) against the
real router and engine: streaming exec, background processes, file streaming, archive, watch, and
agent mode (configure, invoke, stream, cancel, attach), with their bad inputs.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from agenttier import (
    AuthorizationError,
    ConflictError,
    NotConfiguredError,
    NotFoundError,
    PayloadTooLargeError,
    StreamError,
    ValidationError,
)
from flavours import open_client

REPO = Path(__file__).resolve().parents[3]
ECHO_AGENT = REPO / "examples" / "echo-agent" / "agent.py"


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, api_url: str, namespace: str) -> Iterator[Any]:
    client, close = open_client(request.param, api_url)
    try:
        yield client
    finally:
        for sb in client.list_sandboxes(namespace=namespace):
            try:
                sb.delete()
            except NotFoundError:
                pass
        deadline = time.monotonic() + 60  # names are reused by the other flavour: wait until gone
        while client.list_sandboxes(namespace=namespace) and time.monotonic() < deadline:
            time.sleep(0.2)
        close()


def _running(api: Any, name: str, namespace: str, template: str = "minimal-shell") -> Any:
    sb = api.create_sandbox(name=name, template=template, namespace=namespace)
    sb.wait_until_running(timeout=120)
    return sb


def test_exec_stream_processes_and_files(api: Any, namespace: str, tmp_path: Path) -> None:
    sb = _running(api, "streams", namespace)

    # Streaming exec: output as it comes, then exit; non-UTF-8 output arrives replaced, never an error.
    events = list(sb.exec_stream(["sh", "-c", "echo one; echo two >&2; printf '\\377\\n'; exit 4"]))
    kinds = [e.event for e in events]
    assert kinds[0] == "start" and kinds[-1] == "exit"
    out = "".join(e.data["data"] for e in events if e.event == "stdout")
    assert out.startswith("one\n") and "\ufffd" in out
    assert "".join(e.data["data"] for e in events if e.event == "stderr") == "two\n"
    assert events[-1].data["exitCode"] == 4
    with pytest.raises(TypeError):
        sb.exec_stream([])

    # Background process: start, follow its output from an offset, signal, list.
    proc = sb.processes.start(["sh", "-c", "for i in 1 2 3; do echo line$i; done; sleep 300"], name="lines")
    assert proc.state == "running"
    seen = ""
    with sb.processes.output(proc.id) as follow:
        for ev in follow:
            if ev.event == "stdout":
                seen += ev.data["data"]
            if "line3" in seen:
                break  # detaching leaves the process running
    assert seen == "line1\nline2\nline3\n"
    assert sb.processes.get(proc.id).state == "running"
    tail = "".join(e.data["data"] for e in _until(sb.processes.output(proc.id, from_offset=6), "line3"))
    assert tail == "line2\nline3\n"
    assert proc.id in [p.id for p in sb.processes.list()]
    sb.processes.signal(proc.id, "TERM")
    ended = [e for e in sb.processes.output(proc.id) if e.event == "exit"]
    assert ended and ended[0].data["signal"] in ("SIGTERM", "TERM", 15)
    with pytest.raises(NotFoundError):
        sb.processes.get("no-such-process")

    # Files: streamed upload and download of 8 MiB, archive, delete, stat, mkdir, bad paths.
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * (32 * 1024))
    assert sb.files.upload(str(big), "/workspace/d/big.bin") == big.stat().st_size
    sb.files.download("/workspace/d/big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()
    sb.files.write("/workspace/d/note.txt", "hi")
    sb.files.archive(str(tmp_path / "d.zip"), path="/workspace/d")
    with zipfile.ZipFile(io.BytesIO((tmp_path / "d.zip").read_bytes())) as z:
        assert sorted(n for n in z.namelist() if not n.endswith("/")) == ["d/big.bin", "d/note.txt"]
        assert z.read("d/note.txt") == b"hi"
    assert sb.files.stat("/workspace/d/note.txt").size == 2
    sb.files.mkdir("/workspace/e/f")
    assert sb.files.stat("/workspace/e/f").is_dir
    sb.files.delete("/workspace/d", recursive=True)
    with pytest.raises(NotFoundError):
        sb.files.read("/workspace/d/note.txt")
    with pytest.raises(NotFoundError):
        sb.files.download("/workspace/missing", str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()  # a refused download leaves no partial file
    with pytest.raises(ValidationError):
        sb.files.read("/workspace/../etc/passwd")
    with pytest.raises(Exception) as outside:
        sb.files.write("/etc/evil", "x")
    assert getattr(outside.value, "status_code", None) == 403
    too_big = tmp_path / "huge.bin"
    with open(too_big, "wb") as f:
        f.truncate(32 * 1024 * 1024 + 1)
    with pytest.raises(PayloadTooLargeError):
        sb.files.upload(str(too_big), "/workspace/huge.bin")


def test_file_watch(api: Any, namespace: str) -> None:
    sb = _running(api, "watcher", namespace)
    sb.update(idleTimeout="45m")  # PATCH with wire names
    assert sb.refresh().view["idleTimeout"] == "45m"
    sb.update(labels={"team": "ml", "stale": "yes"})
    sb.update(labels={"stale": None, "never-set": None})  # merge patch: None removes; absent is a no-op
    assert sb.refresh().view["labels"] == {"team": "ml"}
    with pytest.raises(ValueError):
        sb.update()
    sb.files.mkdir("/workspace/w")
    with sb.files.watch("/workspace/w") as changes:
        first = next(changes)
        assert first.event == "ready"
        sb.files.write("/workspace/w/new.txt", "x")
        for ev in changes:
            if ev.event == "change" and ev.data["path"].endswith("/w/new.txt"):
                assert ev.data["type"] in ("created", "modified")
                break


def _until(events: Any, text: str) -> Iterator[Any]:
    seen = ""
    with events:
        for ev in events:
            if ev.event == "stdout":
                yield ev
                seen += ev.data["data"]
                if text in seen:
                    return


def test_agent_mode(api: Any, namespace: str, tmp_path: Path) -> None:
    sb = _running(api, "agent", namespace, template="langgraph-agent")
    with pytest.raises(NotConfiguredError):
        sb.agent.invoke("echo nobody home")

    logs: list[tuple[str, str]] = []
    result = sb.agent.configure(
        files=[("/workspace/agent.py", str(ECHO_AGENT))],  # the seed SDK's (sandbox path, local path)
        install_command=["sh", "-c", "echo installing; echo warn >&2"],
        entrypoint=["python3", "/workspace/agent.py"],
        on_log=lambda stream, line: logs.append((stream, line)),
    )
    assert result.install_exit_code == 0 and not result.skipped
    assert ("stdout", "installing") in logs and ("stderr", "warn") in logs
    assert sb.agent.configure(
        files=[("/workspace/agent.py", ECHO_AGENT.read_bytes())],
        install_command=["sh", "-c", "echo installing; echo warn >&2"],
    ).skipped
    assert "installing" in sb.agent.install_log()
    cfg = sb.agent.config()  # what was configured, to prefill a form: paths and names, no contents
    assert cfg["configured"] and cfg["entrypoint"] == ["python3", "/workspace/agent.py"]
    assert cfg["installCommand"] == ["sh", "-c", "echo installing; echo warn >&2"]
    assert [f["path"] for f in cfg["files"]] == ["/workspace/agent.py"]
    assert "content" not in cfg["files"][0]

    done = sb.agent.invoke("count 3")
    assert (done.stdout, done.exit_code, done.reason) == ("1\n2\n3", 0, "completed")
    failed = sb.agent.invoke("fail 3")
    assert (failed.exit_code, failed.stderr) == (3, "failing on request")
    assert sb.agent.invoke(prompt="echo via prompt").stdout == "via prompt"
    # Seed 002's `invoke({"prompt": …})`: a dict payload reaches stdin as JSON.
    assert sb.agent.invoke({"prompt": "summarize"}).stdout == 'hello {"prompt": "summarize"}'

    events = list(sb.agent.stream("count 2"))
    assert [e.event for e in events] == ["start", "log", "log", "exit"]
    invoke_id = events[0].data["invokeId"]
    replay = list(sb.agent.attach(invoke_id, after=2))
    assert [e.event for e in replay] == ["log", "exit"]
    assert sb.agent.get_invoke(invoke_id)["exitCode"] == 0
    assert invoke_id in [r["invokeId"] for r in sb.agent.invokes()]

    # Leaving the loop early cancels the run.
    with sb.agent.stream("sleep 300") as slow:
        started = next(slow)
        assert started.event == "start"
    slow_id = started.data["invokeId"]
    deadline = time.monotonic() + 30
    while sb.agent.get_invoke(slow_id).get("reason") != "canceled" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sb.agent.get_invoke(slow_id)["reason"] == "canceled"

    # Cancel by id from elsewhere: the stream ends with reason canceled.
    with sb.agent.stream("sleep 300") as running:
        first = next(running)
        sb.agent.cancel(first.data["invokeId"])
        last = [e for e in running][-1]
    assert (last.event, last.data["reason"]) == ("exit", "canceled")
    with pytest.raises(NotFoundError):
        sb.agent.cancel(first.data["invokeId"])

    with pytest.raises(StreamError) as install_timed_out:
        sb.agent.configure(install_command=["sleep", "60"], install_timeout="1s")
    assert "timed out" in str(install_timed_out.value)
    with pytest.raises(AuthorizationError):
        sb.agent.configure(files=[{"path": "/etc/passwd", "content": "x"}])
    with pytest.raises(ValueError):
        sb.agent.configure()

    code = _running(api, "code-mode", namespace)
    with pytest.raises(ValidationError) as wrong:
        code.agent.invoke("x")
    assert wrong.value.code == "WRONG_MODE"
    code.stop()
    with pytest.raises(ConflictError):
        code.exec_stream("true").__next__()
