"""The burst benchmark in miniature: gunicorn on SQLite, 100 phones, every ballot accounted for."""

import importlib.util
import json
import subprocess
import sys

from survey import PROJECT_ROOT
from tests.conftest import requirement_missing


def test_burst_smoke_stores_exactly_the_acknowledged_ballots(tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        requirement_missing("gunicorn is not installed")
    out = tmp_path / "burst.json"
    finished = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "burst.py"), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    (result,) = json.loads(out.read_text())
    assert result["ok"]
    assert result["acknowledged"] == 100 == result["stored"]["ballots"]
    assert result["stored"]["used_codes"] == 100
    assert result["meeting"]["errors"] == {}
    assert set(result["rushes"]) == {"8", "20"}
    assert all(phase["errors"] == {} for phase in result["rushes"].values())
    assert result["ceiling"]["requests_per_second"] > 0
    # The server's own CPU accounting was read: every phase used some.
    assert result["meeting"]["ms_per_ballot"] > 0 and result["meeting"]["app_ms_per_ballot"] > 0
    assert "ratio" in finished.stdout and "server CPU" in finished.stdout
