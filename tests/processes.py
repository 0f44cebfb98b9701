"""Run the README's commands as real processes and use what they serve over HTTP.

Nothing here goes through Flask's test client: the point is to meet the platform the way a
newcomer does, with the same locking, CSRF and server as on meeting day.
"""

import html
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SURVEY = str(VENV_BIN / "survey")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command_env(instance: Path, port: int, database_url: str | None = None) -> dict:
    """The environment a person would have: the venv active, an instance folder, a port."""
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(VENV_BIN.parent),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SURVEY_INSTANCE_PATH": str(instance),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "WORKERS": "2",
    }
    env.pop("TEST_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def survey(env: dict, *args: str, input_text: str | None = None, timeout: float = 120):
    """Run one `survey` command to its end; return the finished process."""
    return subprocess.run(
        [SURVEY, *args],
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Server:
    """A long-running command (start-demo, survey run) in its own process group."""

    def __init__(self, command: list[str], env: dict, port: int, log: Path):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, seconds: float = 240) -> str:
        """Wait until the output holds `text` (the server answering is not enough for a banner)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            output = self.output()
            if text in output:
                return output
            if self.process.poll() is not None:
                raise AssertionError(f"the command ended early:\n{output[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"no {text!r} after {seconds} s:\n{self.output()[-3000:]}")

    def wait_serving(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server ended early:\n{self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"not serving after {seconds} s:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        """Ctrl-C, as a person stops it; the whole process group goes."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log_file.close()
        _wait_port_free(self.port)


def _wait_port_free(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"port {port} still answers after the server was stopped")


@contextmanager
def serving(command: list[str], env: dict, port: int, log: Path):
    server = Server(command, env, port, log)
    try:
        yield server
    finally:
        server.stop()


class Browser:
    """Cookies, redirects and forms over plain HTTP, like a phone without JavaScript."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self._url(path)))

    def post(self, path: str, form: dict) -> tuple[int, str, str]:
        request = urllib.request.Request(
            self._url(path),
            data=urllib.parse.urlencode(form).encode(),
            headers={"Origin": self.base},
        )
        return self._open(request)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"

    def _open(self, request) -> tuple[int, str, str]:
        """Return the final status, address and page after redirects."""
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.read().decode(errors="replace")


def hidden_fields(page: str) -> dict:
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)
    }


def vote(base: str, vote_url: str, choice: int = 0) -> str:
    """Open a vote address, give every line its `choice`-th option (0 is the best), submit;
    return the page the phone ends on."""
    phone = Browser(base)
    status, _, page = phone.get(vote_url)
    assert status == 200, page[:500]
    form = hidden_fields(page)
    options: dict[str, list[str]] = {}
    for name, value in re.findall(r'name="(r-\d+-\w+)" value="(\w+)"', page):
        options.setdefault(name, []).append(value)
    for name, values in options.items():
        form[name] = values[choice]
    status, _, receipt = phone.post("/v/submit", form)
    assert status == 200, receipt[:500]
    return receipt


def log_in(base: str, username: str, password: str) -> Browser:
    """Log in through the login form (CSRF included); fail if the login is refused."""
    browser = Browser(base)
    _, _, page = browser.get("/login")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    status, url, landing = browser.post(
        "/login", {"username": username, "password": password, "csrf_token": token}
    )
    assert status == 200 and not url.endswith("/login"), landing[:500]
    return browser


@contextmanager
def suite_database(instance: Path):
    """A database of its own on the engine of this test run: SQLite, or a new PostgreSQL one."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{instance / 'survey.sqlite'}"
        return
    import psycopg

    name = f"survey_proc_{uuid.uuid4().hex[:10]}"
    admin_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
