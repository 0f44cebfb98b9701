"""Burst benchmark: a hall of phones voting at once, against the platform as deployed.

    python bench/burst.py                  SQLite, then PostgreSQL on a throwaway server
    python bench/burst.py --pg URL         PostgreSQL at URL (its data is kept; a new session)
    python bench/burst.py --no-pg          SQLite only
    python bench/burst.py --smoke          50 + 50 codes on SQLite: a quick check (tests use it)

For each engine it starts gunicorn with `survey.gunicorn_conf` (several workers) on a temporary
instance folder, and then:
  1. ceiling: GET /healthz (no database) from 50 clients at once: requests/s;
  2. meeting: issues 1,000 codes in an open session; 1,000 phones arrive in an open loop, the
     arrival rate ramping linearly to 100/s over 10 s and holding there; each phone GETs its
     ballot page and POSTs the filled form (a rating on each of the 12 lines and a
     200-character comment) with the page's token, as a phone does;
  3. rush: for each of `--phones` (default 8 and 20) issues 1,000 more codes and submits them
     with that many phones back to back (a closed loop);
  4. check: ballots stored == submissions acknowledged with 303 == codes used.
Prints throughput, p50/p95/p99 latencies, errors, the ratio of ballots/s to the ceiling and the
server's CPU per ballot: utime + stime of gunicorn's processes (workers included, read from
/proc before and after each phase) and, on the throwaway PostgreSQL, of the postmaster and its
backends. That figure does not depend on how busy the machine is, unlike the wall-clock ones.
Exit status 1 when a request failed or the stored ballots do not match the acknowledgements.
Uses only the standard library and the platform's own packages for the load.
"""

import argparse
import contextlib
import gzip
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
RATING = re.compile(r'name="(r-\d+-\w+)" value="(\w+)"')

# A county party committee (县委) meeting: the team, the secretary and ten members.
SUBJECTS = [("县委领导班子", "", "team"), ("张明", "县委书记", "principal")] + [
    (name, post, "member")
    for name, post in (
        ("李华", "县委副书记、县长"),
        ("王芳", "县委副书记"),
        ("赵强", "县委常委、纪委书记"),
        ("陈静", "县委常委、组织部部长"),
        ("刘洋", "县委常委、宣传部部长"),
        ("杨帆", "县委常委、政法委书记"),
        ("黄磊", "县委常委、统战部部长"),
        ("周敏", "县委常委、常务副县长"),
        ("吴刚", "县委常委、县委办主任"),
        ("徐丽", "县委常委、人武部政委"),
    )
]
GROUPS = ["县级领导干部", "部门主要负责人", "乡镇党政主要负责人"]
# 200 characters of overall comment (1,800 bytes once percent-encoded), on every ballot.
COMMENT = ("希望进一步加强作风建设，多深入基层调查研究，" * 10)[:200]


@dataclass(frozen=True)
class Plan:
    meeting_codes: int = 1000
    rush_codes: int = 1000
    peak_per_second: float = 100.0
    ramp_seconds: float = 10.0
    phones: tuple[int, ...] = (8, 20)
    concurrency: int = 50  # clients of the /healthz ceiling
    ceiling_requests: int = 3000
    workers: int | None = None


SMOKE = Plan(
    meeting_codes=50,
    rush_codes=25,
    peak_per_second=50.0,
    ramp_seconds=1.0,
    phones=(8, 20),
    concurrency=10,
    ceiling_requests=300,
    workers=2,
)


# ---- the server's own CPU accounting ------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (index 0 is the state)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(fields: list[str]) -> float:
    """utime + stime + cutime + cstime: the process and its waited-for children."""
    return sum(int(fields[n]) for n in (11, 12, 13, 14)) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds used so far by a group of server processes, from their own accounting.

    `group` picks the processes: those whose process group is `pgid` (gunicorn runs in its own
    session), or those whose parent is `parent` plus the parent itself (PostgreSQL's backends).
    """

    def __init__(self, name: str, pgid: int | None = None, parent: int | None = None):
        self.name, self.pgid, self.parent = name, pgid, parent

    def read(self) -> float:
        total = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            fields = proc_stat(int(entry))
            if fields is None:
                continue
            ppid, pgrp = int(fields[1]), int(fields[2])
            if (self.pgid is not None and pgrp == self.pgid) or (
                self.parent is not None and (int(entry) == self.parent or ppid == self.parent)
            ):
                total += cpu_seconds(fields)
        return total


def read_meters(meters: list[CpuMeter]) -> dict[str, float]:
    return {meter.name: meter.read() for meter in meters}


def cpu_used(before: dict[str, float], after: dict[str, float], ballots: int) -> dict:
    """CPU seconds per process group over a phase, and milliseconds per ballot."""
    used = {name: after[name] - before[name] for name in before}
    total = sum(used.values())
    per = {
        f"{name}_ms_per_ballot": round(s * 1000 / max(ballots, 1), 2) for name, s in used.items()
    }
    return {
        "cpu_seconds": round(total, 2),
        "ms_per_ballot": round(total * 1000 / max(ballots, 1), 2),
        **per,
    }


# ---- HTTP ---------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: str
    seconds: float


class Client:
    """One request per connection, as phones on a hall's Wi-Fi do (sync workers close anyway)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.origin = f"http://{host}:{port}"

    def request(self, method: str, path: str, form: dict | None = None) -> Reply:
        headers = {"Accept-Encoding": "gzip", "User-Agent": "burst-bench"}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
        start = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            if response.getheader("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
        finally:
            connection.close()
        return Reply(response.status, data.decode("utf-8", "replace"), time.perf_counter() - start)


@dataclass
class Tally:
    """Latencies and outcomes of one phase, filled from many threads."""

    get_seconds: list[float] = field(default_factory=list)
    post_seconds: list[float] = field(default_factory=list)
    phone_seconds: list[float] = field(default_factory=list)
    acknowledged: int = 0
    errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1


def vote(client: Client, code: str, tally: Tally, rng: random.Random) -> None:
    """One phone: open the ballot, rate every line, sometimes comment, submit."""
    start = time.perf_counter()
    try:
        page = client.request("GET", f"/v/{code}")
        if page.status != 200:
            tally.error(f"GET {page.status}")
            return
        form = dict(HIDDEN.findall(page.body))
        options: dict[str, list[str]] = {}
        for name, value in RATING.findall(page.body):
            options.setdefault(name, []).append(value)
        for name, values in options.items():
            form[name] = rng.choice(values[:2] if rng.random() < 0.8 else values)
        form["c-overall"] = COMMENT  # every phone writes the issue's 200-character comment
        posted = client.request("POST", "/v/submit", form)
    except (OSError, http.client.HTTPException) as error:
        tally.error(type(error).__name__)
        return
    with tally.lock:
        tally.get_seconds.append(page.seconds)
        tally.post_seconds.append(posted.seconds)
        if posted.status == 303:
            tally.acknowledged += 1
            tally.phone_seconds.append(time.perf_counter() - start)
        else:
            tally.errors[f"POST {posted.status}"] += 1


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, int(round(p / 100 * len(ordered) + 0.4999)))
    return ordered[min(rank, len(ordered)) - 1]


def latency(values: list[float]) -> dict:
    return {f"p{p}_ms": round(percentile(values, p) * 1000, 1) for p in (50, 95, 99)}


# ---- the phases ---------------------------------------------------------------------------


def measure_ceiling(client: Client, requests: int, concurrency: int) -> dict:
    """Hit GET /healthz (no database) closed-loop: what this server and client can do at best."""
    seconds: list[float] = []
    errors: Counter = Counter()
    lock = threading.Lock()
    remaining = iter(range(requests))

    def worker():
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            try:
                reply = client.request("GET", "/healthz")
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    errors[type(error).__name__] += 1
                continue
            with lock:
                seconds.append(reply.seconds)
                if reply.status != 200:
                    errors[f"GET {reply.status}"] += 1

    started = time.perf_counter()
    run_threads(worker, concurrency)
    elapsed = time.perf_counter() - started
    return {
        "requests": requests,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(seconds) / elapsed, 1),
        **latency(seconds),
        "errors": dict(errors),
    }


def arrival_times(count: int, peak: float, ramp: float) -> list[float]:
    """Seconds after the start at which each phone arrives: linear ramp to `peak`, then flat."""
    in_ramp = peak * ramp / 2
    times = []
    for k in range(count):
        if k < in_ramp:
            times.append((2 * ramp * k / peak) ** 0.5)
        else:
            times.append(ramp + (k - in_ramp) / peak)
    return times


def meeting(client: Client, codes: list[str], plan: Plan, seed: int) -> dict:
    """Phones arrive on schedule whatever the server's speed (an open loop), then vote."""
    tally = Tally()
    schedule = arrival_times(len(codes), plan.peak_per_second, plan.ramp_seconds)
    lag: list[float] = []
    rngs = [random.Random(seed + n) for n in range(len(codes))]
    started = time.perf_counter()
    # Enough threads that a slow server makes phones wait on it, not on the load generator.
    with ThreadPoolExecutor(max_workers=max(plan.concurrency, 400)) as pool:
        for code, at, rng in zip(codes, schedule, rngs, strict=True):
            delay = started + at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                lag.append(-delay)
            pool.submit(vote, client, code, tally, rng)
    elapsed = time.perf_counter() - started
    return summary(tally, elapsed) | {
        "arrival_seconds": round(schedule[-1], 1),
        "peak_arrivals_per_second": plan.peak_per_second,
        "max_dispatch_lag_ms": round(max(lag, default=0) * 1000, 1),
    }


def rush(client: Client, codes: list[str], concurrency: int, seed: int) -> dict:
    """Every phone votes as soon as the previous one is done (a closed loop): peak throughput."""
    tally = Tally()
    queue = iter(codes)
    lock = threading.Lock()

    def worker(number: int):
        rng = random.Random(seed + number)
        while True:
            with lock:
                code = next(queue, None)
            if code is None:
                return
            vote(client, code, tally, rng)

    started = time.perf_counter()
    run_threads(worker, concurrency, numbered=True)
    return summary(tally, time.perf_counter() - started)


def run_threads(target, count: int, numbered: bool = False) -> None:
    threads = [
        threading.Thread(target=target, args=(n,) if numbered else (), daemon=True)
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def summary(tally: Tally, elapsed: float) -> dict:
    return {
        "phones": tally.acknowledged + sum(tally.errors.values()),
        "acknowledged": tally.acknowledged,
        "seconds": round(elapsed, 2),
        "ballots_per_second": round(tally.acknowledged / elapsed, 1),
        "get": latency(tally.get_seconds),
        "post": latency(tally.post_seconds),
        "phone": latency(tally.phone_seconds),
        "errors": dict(tally.errors),
    }


# ---- the platform -------------------------------------------------------------------------


class Platform:
    """The app objects the benchmark uses to prepare and check the database directly."""

    def __init__(self, instance: Path, database_url: str, secrets_: dict):
        os.environ["SURVEY_INSTANCE_PATH"] = str(instance)
        from survey import create_app

        self.app = create_app({"DATABASE_URL": database_url, **secrets_})
        self.session_id: int | None = None
        self.groups: list[int] = []

    def prepare(self, codes: int) -> list[str]:
        """Migrate, create an open session like survey/services/demo.py does, issue codes."""
        import datetime as dt

        from flask_migrate import upgrade

        from survey.domain import DEFAULT_RULESET_ID, get_shipped
        from survey.domain.questionnaire import shipped
        from survey.extensions import db
        from survey.models import EvalSession, RaterGroup, Role, Subject, SubjectRole, User
        from survey.security import hash_password
        from survey.services.sessions import open_session

        with self.app.app_context():
            upgrade()
            organizer = User(
                username=f"bench-{secrets.token_hex(4)}",
                display_name="压力测试",
                role=Role.ORGANIZER,
                password_hash=hash_password(secrets.token_urlsafe(16)),
            )
            session = EvalSession(
                title="压力测试：党风廉政建设责任制民主测评",
                unit="测试县委",
                meeting_date=dt.date.today(),
                owner=organizer,
                rule_set_key=DEFAULT_RULESET_ID,
                rule_set_version=get_shipped(DEFAULT_RULESET_ID).version,
                questionnaire=shipped()["dangfeng-zerenzhi"].canonical_json(),
            )
            session.subjects = [
                Subject(name=name, post=post, kind=SubjectRole(kind), position=n)
                for n, (name, post, kind) in enumerate(SUBJECTS)
            ]
            session.groups = [
                RaterGroup(name=name, expected_count=0, position=n) for n, name in enumerate(GROUPS)
            ]
            db.session.add_all([organizer, session])
            db.session.commit()
            self.session_id = session.id
            self.groups = [group.id for group in session.groups]
            db.session.commit()  # end the read that loaded the ids: SQLite would hold its lock
        issued = self.issue(codes)
        with self.app.app_context():
            open_session(db.session.get(EvalSession, self.session_id), None)
            db.session.commit()  # services only flush: the caller ends the transaction
        return issued

    def issue(self, count: int) -> list[str]:
        """Issue `count` more codes, spread over the rater groups, and return them shuffled."""
        from survey.extensions import db
        from survey.models import RaterGroup
        from survey.services.codes import issue_codes

        with self.app.app_context():
            codes: list[str] = []
            share, extra = divmod(count, len(self.groups))
            for n, group_id in enumerate(self.groups):
                group = db.session.get(RaterGroup, group_id)
                codes += issue_codes(group, share + (n < extra), None)
            db.session.commit()
        random.Random(count).shuffle(codes)
        return codes

    def stored(self) -> dict:
        import sqlalchemy as sa

        from survey.extensions import db
        from survey.models import BallotCode, CodeStatus
        from survey.services.ballots import ballot_count

        with self.app.app_context():
            ballots = ballot_count(self.session_id)  # sealed while open
            used = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(BallotCode)
                .where(
                    BallotCode.session_id == self.session_id,
                    BallotCode.status == CodeStatus.USED,
                )
            )
            db.session.remove()
        return {"ballots": ballots, "used_codes": used}

    def dispose(self) -> None:
        from survey.extensions import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(instance: Path, env: dict, workers: int | None):
    """Serve the app as deployed; yield (host, port); stop the whole process group after."""
    port = free_port()
    environment = {**os.environ, **env, "BIND": f"127.0.0.1:{port}"}
    if workers:
        environment["WORKERS"] = str(workers)
    log = open(instance / "gunicorn.log", "ab")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:survey.gunicorn_conf",
            "survey:create_app()",
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped (or killed) as one
    )
    try:
        wait_until_serving("127.0.0.1", port, process)
        yield "127.0.0.1", port, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


NGINX_CONF = """\
# docs/operations.md, "Several app servers": two app servers behind one nginx (plain HTTP here).
worker_processes auto;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    map $request_uri $loggable_uri {{
        ~^/v/(?!done|report/|submit)[^/?]+   /v/[code];
        default                              $request_uri;
    }}
    map $time_iso8601 $log_hour {{
        "~^(?<hour>\\d{{4}}-\\d\\d-\\d\\dT\\d\\d)"   $hour:00;
        default                           -;
    }}
    log_format survey '[$log_hour] "$request_method $loggable_uri $server_protocol" '
                      '$status $body_bytes_sent';
    upstream survey {{
{upstreams}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        access_log {folder}/access.log survey;
        client_max_body_size 8m;
        location / {{
            proxy_pass http://survey;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx_in_front(folder: Path, backends: list[int], port: int):
    """Debian's nginx, configured as docs/operations.md says, before the app servers; yield
    (host, port, pid) with nginx in its own process group."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx not found (Debian: apt-get install nginx)")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # nginx's workers drop root; they only need to reach the folder
    upstreams = "\n".join(
        f"        server 127.0.0.1:{backend} max_fails=3 fail_timeout=10s;" for backend in backends
    )
    config = folder / "nginx.conf"
    config.write_text(NGINX_CONF.format(folder=folder, port=port, upstreams=upstreams))
    process = subprocess.Popen(
        [binary, "-p", str(folder), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "stderr.log", "ab"),  # noqa: SIM115 (lives as long as nginx)
        start_new_session=True,
    )
    try:
        wait_until_serving("127.0.0.1", port, process)
        yield "127.0.0.1", port, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGQUIT)  # graceful: finish what is in flight
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def serving(instance: Path, env: dict, workers: int, behind_nginx: bool):
    """One gunicorn, or two behind nginx; yield (host, port, CPU meters of the servers)."""
    if not behind_nginx:
        with gunicorn(instance, env, workers) as (host, port, pid):
            env["PUBLIC_BASE_URL"] = f"http://{host}:{port}"
            yield host, port, [CpuMeter("app", pgid=pid)]
        return
    # The address the phones use is nginx's; both servers trust one proxy's X-Forwarded-For.
    front_port = free_port()
    shared = {**env, "TRUSTED_PROXIES": "1", "PUBLIC_BASE_URL": f"http://127.0.0.1:{front_port}"}
    with contextlib.ExitStack() as stack:
        pids, ports = [], []
        for n in (1, 2):
            folder = instance / f"server-{n}"
            folder.mkdir(exist_ok=True)
            _host, port, pid = stack.enter_context(gunicorn(folder, shared, workers))
            pids.append(pid)
            ports.append(port)
        host, port, nginx_pid = stack.enter_context(
            nginx_in_front(instance / "nginx", ports, front_port)
        )
        yield (
            host,
            port,
            [
                CpuMeter("app_a", pgid=pids[0]),
                CpuMeter("app_b", pgid=pids[1]),
                CpuMeter("nginx", pgid=nginx_pid),
            ],
        )


def wait_until_serving(host: str, port: int, process: subprocess.Popen, seconds=60) -> None:
    deadline = time.monotonic() + seconds
    client = Client(host, port)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if client.request("GET", "/healthz").status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /healthz in time")


@contextlib.contextmanager
def throwaway_postgres():
    """Start a PostgreSQL server in a temporary folder (as scripts/test-all does); yield its URL."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    bin_dir = found[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="burst-pg."))
    as_pg: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        shutil.chown(folder, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = folder / "data"

    def run(*command: str) -> None:
        subprocess.run([*as_pg, *command], check=True, stdout=subprocess.DEVNULL)

    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        # fsync stays on: the benchmark should pay for durable commits as a meeting would.
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "server.log"),
            "-w",
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
            "start",
        )
        run(
            str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench"
        )
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        yield (
            f"postgresql://postgres@127.0.0.1:{port}/bench",
            CpuMeter("postgres", parent=postmaster),
        )
    finally:
        subprocess.run(
            [*as_pg, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def run_engine(
    name: str,
    database_url: str | None,
    plan: Plan,
    seed: int,
    db_meter: CpuMeter | None = None,
    behind_nginx: bool = False,
) -> dict:
    """Run every phase against one database; database_url None means SQLite in the instance."""
    with tempfile.TemporaryDirectory(prefix="burst-") as tmp:
        instance = Path(tmp)
        url = database_url or f"sqlite:///{instance / 'survey.sqlite'}"
        keys = {"SECRET_KEY": secrets.token_hex(32), "BALLOT_CODE_KEY": secrets.token_hex(32)}
        platform = Platform(instance, url, keys)
        meeting_codes = platform.prepare(plan.meeting_codes)
        workers = plan.workers or int(os.environ.get("WORKERS", (os.cpu_count() or 1) * 2 + 1))
        env = {"DATABASE_URL": url, "SURVEY_INSTANCE_PATH": str(instance), **keys}
        with serving(instance, env, workers, behind_nginx) as (host, port, servers):
            client = Client(host, port)
            meters = servers + ([db_meter] if db_meter else [])
            before = read_meters(meters)
            ceiling = measure_ceiling(client, plan.ceiling_requests, plan.concurrency)
            ceiling |= cpu_used(before, read_meters(meters), ceiling["requests"])
            before = read_meters(meters)
            first = meeting(client, meeting_codes, plan, seed)
            first |= cpu_used(before, read_meters(meters), first["acknowledged"])
            rushes = {}
            for n, phones in enumerate(plan.phones):
                rush_codes = platform.issue(plan.rush_codes)
                before = read_meters(meters)
                rushes[phones] = rush(client, rush_codes, phones, seed + (n + 1) * 10**6)
                rushes[phones] |= cpu_used(
                    before, read_meters(meters), rushes[phones]["acknowledged"]
                )
        stored = platform.stored()
        platform.dispose()
    phases = [first, *rushes.values()]
    acknowledged = sum(phase["acknowledged"] for phase in phases)
    errors = sum(sum(phase["errors"].values()) for phase in phases)
    ok = errors == 0 and stored["ballots"] == acknowledged == stored["used_codes"]
    best = max(rushes.values(), key=lambda phase: phase["ballots_per_second"])
    return {
        "engine": name,
        "servers": "2 gunicorn behind nginx" if behind_nginx else "1 gunicorn",
        "workers": workers,
        "ceiling": ceiling,
        "meeting": first,
        "rushes": {str(phones): phase for phones, phase in rushes.items()},
        "stored": stored,
        "acknowledged": acknowledged,
        "ratio_ballots_to_ceiling": round(
            best["ballots_per_second"] / ceiling["requests_per_second"], 3
        ),
        "ok": ok,
    }


def cpu_text(phase: dict, unit: str = "ballot") -> str:
    parts = [
        f"{name[: -len('_ms_per_ballot')]} {value}"
        for name, value in phase.items()
        if name.endswith("_ms_per_ballot")
    ]
    return f"server CPU {phase['ms_per_ballot']} ms/{unit} ({', '.join(parts)})"


def report(result: dict) -> str:
    ceiling, first = result["ceiling"], result["meeting"]

    def row(label: str, phase: dict) -> str:
        return (
            f"  {label:<9} {phase['acknowledged']:>5} ballots in {phase['seconds']:>6.1f} s = "
            f"{phase['ballots_per_second']:>6.1f}/s; {cpu_text(phase)}\n"
            f"            POST p50/p95/p99 "
            f"{phase['post']['p50_ms']}/{phase['post']['p95_ms']}/{phase['post']['p99_ms']} ms, "
            f"GET {phase['get']['p50_ms']}/{phase['get']['p95_ms']}/"
            f"{phase['get']['p99_ms']} ms, GET+POST {phase['phone']['p50_ms']}/"
            f"{phase['phone']['p95_ms']}/{phase['phone']['p99_ms']} ms; "
            f"errors {phase['errors'] or 0}"
        )

    lines = [
        f"== {result['engine']}: {result.get('servers', '1 gunicorn')}, "
        f"{result['workers']} workers each",
        f"  ceiling   GET /healthz {ceiling['requests_per_second']:.1f} req/s; p50/p95/p99 "
        f"{ceiling['p50_ms']}/{ceiling['p95_ms']}/{ceiling['p99_ms']} ms; "
        f"{cpu_text(ceiling, 'request')}; errors {ceiling['errors'] or 0}",
        row("meeting", first)
        + f"; arrivals over {first['arrival_seconds']} s, "
        + f"peak {first['peak_arrivals_per_second']:.0f}/s",
        *(row(f"{phones} phones", phase) for phones, phase in result["rushes"].items()),
        f"  ratio     best rush ballots/s ÷ ceiling req/s = "
        f"{result['ratio_ballots_to_ceiling']:.3f}",
        f"  check     acknowledged {result['acknowledged']}, stored {result['stored']['ballots']}, "
        f"codes used {result['stored']['used_codes']}: {'OK' if result['ok'] else 'MISMATCH'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="50 + 50 codes, SQLite only")
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL to use instead of a throwaway one")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: its config's)")
    parser.add_argument(
        "--phones", type=int, nargs="+", help="phones at once in each rush (default 8 20)"
    )
    parser.add_argument("--rush-codes", type=int, help="ballots per rush (default 1000)")
    parser.add_argument("--meeting-codes", type=int, help="phones in the meeting (default 1000)")
    parser.add_argument(
        "--nginx",
        action="store_true",
        help="PostgreSQL only: two gunicorn servers behind Debian's nginx (docs/operations.md)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    plan = SMOKE if args.smoke else Plan()
    if args.workers:
        plan = Plan(**{**plan.__dict__, "workers": args.workers})
    if args.phones:
        plan = Plan(**{**plan.__dict__, "phones": tuple(args.phones)})
    if args.rush_codes:
        plan = Plan(**{**plan.__dict__, "rush_codes": args.rush_codes})
    if args.meeting_codes:
        plan = Plan(**{**plan.__dict__, "meeting_codes": args.meeting_codes})
    results = []
    if args.nginx:
        args.no_sqlite = True  # SQLite is for one server only (docs/operations.md)
    if not args.no_sqlite:
        results.append(run_engine("SQLite", None, plan, args.seed))
        print(report(results[-1]), flush=True)
    if args.pg:
        results.append(run_engine("PostgreSQL", args.pg, plan, args.seed, behind_nginx=args.nginx))
        print(report(results[-1]), flush=True)
    elif not (args.no_pg or args.smoke):
        with throwaway_postgres() as (url, meter):
            results.append(
                run_engine(
                    "PostgreSQL (throwaway server)",
                    url,
                    plan,
                    args.seed,
                    meter,
                    behind_nginx=args.nginx,
                )
            )
        print(report(results[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return 0 if results and all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
