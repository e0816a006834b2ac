"""`stop_deadline`: a `local up` whose teardown hangs still ends, and says where it hung."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HANGS_IN_TEARDOWN = """
import sys, threading
from pathlib import Path
from clio_xero_tools.local.runtime import stop_deadline

with stop_deadline(0.5, Path(sys.argv[1])):
    threading.Event().wait()  # a teardown step that never returns
"""

ENDS_IN_TIME = """
import sys
from pathlib import Path
from clio_xero_tools.local.runtime import stop_deadline

with stop_deadline(60, Path(sys.argv[1])):
    pass
print("stopped")
"""


def test_a_hung_teardown_ends_the_process_with_every_threads_stack_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "functions.log"
    result = subprocess.run(
        [sys.executable, "-c", HANGS_IN_TEARDOWN, str(log)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "The local stack did not stop within" in result.stderr and f"where it hung: {log}" in result.stderr
    logged = log.read_text(encoding="utf-8")
    assert "stop took longer than" in logged
    assert 'File "<string>", line 7' in logged  # the main thread's stack, at the hanging wait


def test_a_teardown_in_time_cancels_the_deadline(tmp_path: Path) -> None:
    log = tmp_path / "functions.log"
    result = subprocess.run(
        [sys.executable, "-c", ENDS_IN_TIME, str(log)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout.strip()) == (0, "stopped")
    assert not log.exists()
