"""`clio-xero local up` options (issue 10): the state file honours CLIO_XERO_LOCAL_STATE so two
stacks run side by side, function logs go to a log file the banner names, the banner says how
another shell reaches the local AWS, the sandboxes' ports are fixed by flags, and --retry-after
works with --sandbox.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from clio_xero_tools.cli.context import LOCAL_STATE, StackContext
from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("local-state-file")]
# -X faulthandler: a stack that does not stop prints every thread's stack on SIGABRT (see Up.stop).
UP = [
    sys.executable,
    "-X",
    "faulthandler",
    "-m",
    "clio_xero_tools.cli",
    "local",
    "up",
    "--port",
    "0",
    "--aws-port",
    "0",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Up:
    def __init__(self, state: Path, *args: str, ready: str = "Ready.") -> None:
        env = {**os.environ, "COLUMNS": "250", "CLIO_XERO_LOCAL_STATE": str(state)}
        for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
            env.pop(key, None)
        self.process = subprocess.Popen(
            [*UP, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.banner: list[str] = []
        while not any(ready in line for line in self.banner):
            self.banner.append(self.lines.get(timeout=240))  # bounded wait for the start-up banner
            assert self.process.poll() is None, "".join(self.banner)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, ""):
            self.lines.put(line)

    @property
    def text(self) -> str:
        return "".join(self.banner)

    def urls(self) -> tuple[str, str]:
        """The HTTP API's and moto's URLs from the banner."""
        api = re.search(r"HTTP API\s+(http://127\.0\.0\.1:\d+)", self.text)
        aws = re.search(r"AWS \(moto\)\s+(http://127\.0\.0\.1:\d+)", self.text)
        assert api is not None and aws is not None, self.text
        return api.group(1), aws.group(1)

    def rest(self) -> str:
        """What it printed after the banner (call once it has exited)."""
        lines: list[str] = []
        with contextlib.suppress(queue.Empty):
            while True:
                lines.append(self.lines.get(timeout=5))  # bounded: the reader ends at EOF
        return "".join(lines)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            # Say where it hangs: faulthandler dumps every thread on SIGABRT.
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=30)
            raise AssertionError("did not stop within 60 s after SIGINT:\n" + self.rest()) from None


class Traffic:
    """Requests in flight the whole time: the health route and moto, each on its own thread."""

    def __init__(self, api_url: str, aws_endpoint: str) -> None:
        self.done = threading.Event()
        self.flowing = {"api": threading.Event(), "aws": threading.Event()}  # set at each one's first answer
        sqs = boto3.client(
            "sqs",
            endpoint_url=aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        calls = {"api": lambda: httpx.get(f"{api_url}/health", timeout=10), "aws": sqs.list_queues}
        self.threads = [threading.Thread(target=self._hammer, args=(n, c), daemon=True) for n, c in calls.items()]
        for thread in self.threads:
            thread.start()

    def _hammer(self, name: str, call: Any) -> None:
        while not self.done.is_set():
            try:
                call()
                self.flowing[name].set()
            except Exception:  # the stack went away under it: what this test wants to see survive
                if self.done.is_set():
                    return

    def end(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_two_local_stacks_side_by_side_with_their_own_state_logs_and_ports(tmp_path: Path) -> None:
    clio_port, xero_port = free_port(), free_port()
    first_state, second_state = tmp_path / "one" / "stack.json", tmp_path / "two" / "stack.json"
    default_existed = (ROOT / LOCAL_STATE).exists()
    first = Up(
        first_state, "--sandbox", "--clio-port", str(clio_port), "--xero-port", str(xero_port), "--retry-after", "2"
    )
    try:
        second = Up(second_state)
        try:
            for up, state in ((first, first_state), (second, second_state)):
                assert state.is_file()  # where CLIO_XERO_LOCAL_STATE points, not .cache/local/stack.json
                assert f"State file:    {state}" in up.text
                assert f"Function logs: {state.parent / 'functions.log'}" in up.text
                assert f"export CLIO_XERO_LOCAL_STATE={state}" in up.text
                match = re.search(
                    r"export AWS_ENDPOINT_URL=(http://127\.0\.0\.1:\d+) AWS_REGION=(\S+) "
                    r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)",
                    up.text,
                )
                assert match is not None, up.text
                endpoint, region, key_id, secret = match.groups()
                # What the banner says is enough for another shell's boto3.
                sqs = boto3.client(
                    "sqs",
                    endpoint_url=endpoint,
                    region_name=region,
                    aws_access_key_id=key_id,
                    aws_secret_access_key=secret,
                )
                assert any(u.endswith("-sync.fifo") for u in sqs.list_queues()["QueueUrls"])
                context = StackContext.resolve(local=True, state_path=state)
                assert context.endpoint_url == endpoint
                assert httpx.get(f"{context.api_url}/health", timeout=10).json()["status"] == "ok"
            assert (
                StackContext.resolve(local=True, state_path=first_state).endpoint_url
                != StackContext.resolve(local=True, state_path=second_state).endpoint_url
            )
            assert f"http://127.0.0.1:{clio_port}" in first.text and f"http://127.0.0.1:{xero_port}" in first.text
            assert httpx.get(f"http://127.0.0.1:{clio_port}/health", timeout=10).status_code < 500
            # Function logs went to the file (the handshakes of the wired connection), not the banner.
            logged = (first_state.parent / "functions.log").read_text(encoding="utf-8")
            assert "clio webhook activated" in logged
            assert '"level"' not in first.text
        finally:
            # Ctrl-C while both of its servers answer requests: a busy server thread may be the one
            # the signal reaches (`local up` once ignored it for ever there: local/signals.py).
            traffic = Traffic(*second.urls())
            try:
                assert all(flowing.wait(60) for flowing in traffic.flowing.values())  # both answered once
                assert second.stop() == 0
            finally:
                traffic.end()
            assert "Stopped." in second.rest()
    finally:
        assert first.stop() == 0
    assert not first_state.exists() and not second_state.exists()
    assert (ROOT / LOCAL_STATE).exists() == default_existed  # the default state file was never touched


def test_sandbox_ports_need_sandbox(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clio_xero_tools.cli", "local", "up", "--clio-port", "5999"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CLIO_XERO_LOCAL_STATE": str(tmp_path / "s.json")},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "--sandbox" in result.stdout + result.stderr


@pytest.mark.timeout(300)  # DynamoDB Local + both sandboxes took 150 s to start here (issue 10 note)
def test_dynamodb_local_with_sandbox_is_used_or_refused_with_a_sentence(tmp_path: Path) -> None:
    """--dynamodb-local is passed to the runtime with --sandbox too: without Java it says why and
    exits 3 (before, it was silently ignored and moto's DynamoDB used)."""
    from tests.conftest import java_and_jar

    if java_and_jar() is None:
        state = tmp_path / "stack.json"
        # Ctrl-C the moment this line of the banner appears (the stack is up, the banner not
        # finished): a clean stop, exit 0, and no state file left pointing at a stopped stack.
        up = Up(state, "--sandbox", "--dynamodb-local", ready="DynamoDB Local at http://127.0.0.1:")
        assert up.stop() == 0
        assert "Stopped." in up.text + up.rest()
        assert not state.exists()
        return
    env = {**os.environ, "CLIO_XERO_LOCAL_STATE": str(tmp_path / "s.json"), "PATH": "/nonexistent"}
    result = subprocess.run(
        [*UP, "--sandbox", "--dynamodb-local"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "DYNAMODB_LOCAL_JAR": str(tmp_path / "missing.jar")},
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "DynamoDB Local" in result.stdout and "Traceback" not in result.stdout + result.stderr
