"""`clio-xero sandbox up` and `local up --sandbox` as a person runs them."""

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

from tests.conftest import ROOT

# `local up` writes .cache/local/stack.json in the repository: never two at once (pytest -n).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("local-state-file")]


class Running:
    def __init__(self, *args: str) -> None:
        env = {**os.environ, "COLUMNS": "250"}
        env.pop("AWS_ENDPOINT_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clio_xero_tools.cli", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.banner: list[str] = []
        while not any("Ready." in line for line in self.banner):
            self.banner.append(self.lines.get(timeout=90))  # bounded wait for the start-up banner

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, ""):
            self.lines.put(line)

    def url(self, label: str) -> str:
        match = re.search(label + r"\s+(http://127\.0\.0\.1:\d+)", "".join(self.banner))
        assert match is not None, "".join(self.banner)
        return match.group(1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        if r.process.poll() is None:
            r.process.kill()
            r.process.wait(timeout=10)


def test_sandbox_up_serves_both_apis_on_the_given_ports(running: list[Running]) -> None:
    r = Running("sandbox", "up", "--clio-port", "0", "--xero-port", "0", "--no-seed")
    running.append(r)
    clio, xero = r.url("Clio Manage sandbox"), r.url("Xero sandbox")
    assert httpx.get(f"{clio}/api/v4/contacts.json", timeout=10).status_code == 401  # a real API: no token
    assert httpx.get(f"{xero}/api.xro/2.0/Contacts", timeout=10).status_code in (401, 403)
    assert httpx.get(f"{clio}/_sandbox", timeout=10).status_code == 200  # the admin surface
    assert r.stop() == 0


def test_local_up_with_sandboxes_syncs_in_the_background(running: list[Running]) -> None:
    r = Running("local", "up", "--sandbox", "--port", "0", "--aws-port", "0")
    running.append(r)
    clio = r.url("Clio Manage sandbox")
    # Act as a user in Clio through the admin surface; webhooks, queue and worker run by themselves.
    created = httpx.post(
        f"{clio}/_sandbox/act/contacts",
        json={"type": "Company", "name": "Background Sync Ltd", "is_client": True},
        timeout=10,
    )
    assert created.status_code in (200, 201)
    xero = r.url("Xero sandbox")
    found = False
    for _ in range(150):  # bounded poll (up to ~30 s): background pumps deliver every second
        listed = httpx.get(f"{xero}/_sandbox/requests", timeout=10).json()
        if any(e["method"] == "PUT" and "/Contacts" in e["path"] for e in listed):
            found = True
            break
        threading.Event().wait(0.2)
    assert found, "the contact never reached the Xero sandbox"
    assert r.stop() == 0
