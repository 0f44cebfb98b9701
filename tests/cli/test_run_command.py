"""`survey run` really serves, and its access log never shows a ballot code."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_survey_run_serves_and_redacts_codes_from_its_log(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "SURVEY_INSTANCE_PATH": str(tmp_path),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
    }
    env.pop("TEST_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    survey = str(Path(sys.executable).with_name("survey"))
    server = subprocess.Popen(
        [survey, "run", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # Up to a minute: a busy CI machine can take half of it to import and bind.
        for _ in range(600):
            if server.poll() is not None:
                raise AssertionError(f"survey run exited: {server.communicate()[0]}")
            try:
                with urllib.request.urlopen(f"{base}/login") as response:
                    assert response.status == 200
                    assert "登录" in response.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("survey run did not start serving")
        try:
            urllib.request.urlopen(f"{base}/v/ABCDE-FGHJK")
        except urllib.error.HTTPError as error:
            assert error.code == 404
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert "/v/[code]" in output
    assert "ABCDE-FGHJK" not in output
    assert "Ignoring a call" not in output
