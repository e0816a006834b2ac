"""`clio-xero local up` as a person runs it: prints its URLs, serves, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from clio_xero_tools.cli.context import LOCAL_STATE, StackContext
from tests.conftest import ROOT

# `local up` writes .cache/local/stack.json in the repository: never two at once (pytest -n).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("local-state-file")]


def _reader(stream: object, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.put(line)


@pytest.fixture
def local_up() -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str], list[str]]]:
    env = {**os.environ, "COLUMNS": "200"}
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        env.pop(key, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "clio_xero_tools.cli", "local", "up", "--port", "0", "--aws-port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        while not any("Ready." in line for line in seen):
            seen.append(lines.get(timeout=60))  # bounded wait for the start-up banner
        yield process, lines, seen
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_local_up_serves_and_stops_cleanly(local_up: tuple[subprocess.Popen[str], queue.Queue[str], list[str]]) -> None:
    process, lines, seen = local_up
    banner = "".join(seen)
    api = re.search(r"HTTP API\s+(http://127\.0\.0\.1:\d+)", banner)
    aws = re.search(r"AWS \(moto\)\s+(http://127\.0\.0\.1:\d+)", banner)
    assert api is not None and aws is not None, banner
    assert "/webhooks/xero" in banner and "/webhooks/clio/{connection_id}" in banner
    assert httpx.get(f"{api.group(1)}/health", timeout=10).json()["status"] == "ok"
    assert httpx.post(f"{api.group(1)}/webhooks/xero", content=b"{}", timeout=10).status_code == 401
    # Other commands find this stack through the state file and the stack's own outputs.
    context = StackContext.resolve(local=True, state_path=ROOT / LOCAL_STATE)
    assert (context.api_url, context.endpoint_url) == (api.group(1), aws.group(1))
    assert context.client("dynamodb").describe_table(TableName=context.table_name)["Table"]["TableStatus"] == "ACTIVE"
    assert context.queue_url.endswith("-sync.fifo") and context.dead_letter_queue_url.endswith("-sync-dlq.fifo")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    rest = []
    while not lines.empty():
        rest.append(lines.get_nowait())
    assert "Stopped." in "".join(rest)
    assert not (ROOT / LOCAL_STATE).exists()  # a stopped stack leaves no state behind
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{api.group(1)}/health", timeout=2)
