"""CPU per ballot inside one process: the app's own cost of a phone's GET and POST.

    python bench/hotpath.py [--ballots 500] [--pg URL] [--profile] [--queries]

No HTTP server and no load client: the WSGI app is called directly with the environ a server
would build (no test client, whose own work would blur the figures), on a fresh SQLite
instance (or a new session on PostgreSQL at URL), with burst.py's 县委 session. The process's
CPU time (time.process_time) is reported per ballot and per request kind, next to GET /healthz
(the trivial request). On PostgreSQL the database server's CPU is not included (burst.py
measures it). --profile prints cProfile's top functions; --queries counts the statements each
request kind sends to the database.
"""

import argparse
import cProfile
import gzip
import io
import os
import pstats
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from burst import COMMENT, HIDDEN, RATING, Platform  # noqa: E402


def environ(method: str, path: str, body: bytes = b"", **headers: str) -> dict:
    """What gunicorn hands the app for a request from a phone (one connection per request)."""
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "RAW_URI": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.168.1.23",
        "REMOTE_PORT": "50123",
        "HTTP_HOST": "127.0.0.1:5000",
        "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        "HTTP_ACCEPT": "text/html,application/xhtml+xml",
        "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
        "HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9",
        "HTTP_CONNECTION": "close",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if body:
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        env["CONTENT_LENGTH"] = str(len(body))
    for name, value in headers.items():
        env[f"HTTP_{name.upper()}"] = value
    return env


class Caller:
    """Calls the WSGI app and keeps each request kind's CPU time apart."""

    def __init__(self, app):
        self.app = app
        self.cpu: Counter = Counter()
        self.count: Counter = Counter()

    def __call__(self, kind: str, env: dict) -> tuple[str, dict, bytes]:
        reply = {}

        def start_response(status, headers, exc_info=None):
            reply["status"], reply["headers"] = status, dict(headers)

        started = time.process_time()
        chunks = self.app(env, start_response)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        self.cpu[kind] += time.process_time() - started
        self.count[kind] += 1
        return reply["status"], reply["headers"], body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=500)
    parser.add_argument("--pg", metavar="URL")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--queries", action="store_true", help="count statements per request")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative, tottime")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotpath-") as tmp:
        url = args.pg or f"sqlite:///{tmp}/survey.sqlite"
        keys = {"SECRET_KEY": secrets.token_hex(32), "BALLOT_CODE_KEY": secrets.token_hex(32)}
        platform = Platform(Path(tmp), url, keys)
        codes = platform.prepare(args.ballots + 20)
        call = Caller(platform.app)
        rng = random.Random(1)
        statements: Counter = Counter()
        current = ["-"]
        if args.queries:
            import sqlalchemy as sa

            from survey.extensions import db

            with platform.app.app_context():
                engine = db.engine

            @sa.event.listens_for(engine, "before_cursor_execute")
            def counted(*_args):
                statements[current[0]] += 1

            from survey.extensions import DriverConnection

            run = DriverConnection.execute

            def counting(self, statement, params):
                statements[current[0]] += 1
                return run(self, statement, params)

            DriverConnection.execute = counting

        def vote(code: str) -> None:
            current[0] = "GET /healthz"
            status, _, _ = call("GET /healthz", environ("GET", "/healthz"))
            assert status.startswith("200"), status
            current[0] = "GET /v/<code>"
            status, headers, body = call("GET /v/<code>", environ("GET", f"/v/{code}"))
            assert status.startswith("200"), status
            if headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            html = body.decode()
            form = dict(HIDDEN.findall(html))
            for name, value in RATING.findall(html):
                if name not in form or rng.random() < 0.3:
                    form[name] = value
            form["c-overall"] = COMMENT
            current[0] = "POST /v/submit"
            body = urlencode(form).encode()
            env = environ("POST", "/v/submit", body, origin="http://127.0.0.1:5000")
            status, _, text = call("POST /v/submit", env)
            assert status.startswith("303"), (status, text[:500])

        for code in codes[:20]:  # warm up: imports, templates, caches
            vote(code)
        call.cpu.clear()
        call.count.clear()
        statements.clear()
        profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for code in codes[20:]:
            vote(code)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - started
        ballot_cpu = call.cpu["GET /v/<code>"] + call.cpu["POST /v/submit"]
        print(
            f"{args.ballots} ballots ({'PostgreSQL' if args.pg else 'SQLite'}), in process: "
            f"{ballot_cpu * 1000 / args.ballots:.2f} ms CPU per ballot (GET + POST); "
            f"wall {wall * 1000 / args.ballots:.2f} ms per loop (healthz and parsing included)"
        )
        for kind, seconds in call.cpu.items():
            line = f"  {kind:<15} {seconds * 1000 / call.count[kind]:.3f} ms CPU per request"
            if args.queries:
                line += f", {statements[kind] / call.count[kind]:.1f} statements"
            print(line)
        if profiler:
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)
        platform.dispose()
        os.environ.pop("SURVEY_INSTANCE_PATH", None)


if __name__ == "__main__":
    main()
