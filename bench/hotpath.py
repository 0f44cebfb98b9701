"""CPU per ballot inside one process: the app's own cost of a phone's GET and POST.

    python bench/hotpath.py [--ballots 500] [--pg URL] [--profile]

No HTTP server and no load client: the Flask app is called through its test client on a fresh
SQLite instance (or a new session on PostgreSQL at URL), with burst.py's 县委 session, and the
process's own CPU time (time.process_time) is divided by the ballots. On PostgreSQL the
database server's CPU is not included (burst.py measures it). --profile prints cProfile's top
functions by cumulative time.
"""

import argparse
import cProfile
import gzip
import os
import pstats
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from burst import HIDDEN, RATING, Platform  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=500)
    parser.add_argument("--pg", metavar="URL")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative, tottime")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotpath-") as tmp:
        url = args.pg or f"sqlite:///{tmp}/survey.sqlite"
        keys = {"SECRET_KEY": secrets.token_hex(32), "BALLOT_CODE_KEY": secrets.token_hex(32)}
        platform = Platform(Path(tmp), url, keys)
        codes = platform.prepare(args.ballots + 20)
        client = platform.app.test_client()
        rng = random.Random(1)

        def vote(code: str) -> None:
            page = client.get(f"/v/{code}", headers={"Accept-Encoding": "gzip"})
            assert page.status_code == 200, page.status_code
            html = gzip.decompress(page.get_data()).decode()
            form = dict(HIDDEN.findall(html))
            for name, value in RATING.findall(html):
                if name not in form or rng.random() < 0.3:
                    form[name] = value
            posted = client.post("/v/submit", data=form, headers={"Origin": "http://localhost"})
            assert posted.status_code == 303, posted.get_data(as_text=True)[:500]

        for code in codes[:20]:  # warm up: imports, templates, caches
            vote(code)
        profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for code in codes[20:]:
            vote(code)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - started
        print(
            f"{args.ballots} ballots ({'PostgreSQL' if args.pg else 'SQLite'}): "
            f"{cpu * 1000 / args.ballots:.2f} ms CPU and {wall * 1000 / args.ballots:.2f} ms "
            f"wall per ballot (GET + POST, in process, client parsing included)"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)
        platform.dispose()
        os.environ.pop("SURVEY_INSTANCE_PATH", None)


if __name__ == "__main__":
    main()
