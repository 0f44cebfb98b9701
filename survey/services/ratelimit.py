"""Throttle guessing of ballot codes: failed lookups per client network, counted in the database.

Only failures count (a code that does not exist); a successful lookup, a used code scanned
again, or an empty form never does, so a hall of honest phones behind one address is not
throttled. The counts live in the `failed_attempt` table, so every worker and every app
server sharing the database enforces the same limits.

Why these limits make guessing hopeless: a code is 10 characters from 31, 31**10 ≈ 8.2e14
values. With N unused codes issued across all open sessions (say N = 10,000) one guess hits
with probability N / 31**10 ≈ 1.2e-11. At L = 300 failures per hour per client network, one
network needs 31**10 / (N * L) ≈ 2.7e8 hours (≈ 31,000 years) for one expected hit; a whole
afternoon (4 h, 1,200 guesses) succeeds with probability ≈ 1.5e-8, and even an attacker who
controls 256 distinct /24 networks stays below 4e-6. Honest phones almost never fail: most
scan the QR code, and if a fifth of 1,000 attendees typed their code and one in ten of those
mistyped once, that is 20 failures over the whole vote, a few in any minute, far below 30.
See docs/operations.md.

The table holds no address: the bucket is an HMAC (keyed with SECRET_KEY) of the client's
network, /24 for IPv4 and /64 for IPv6, and the minute is the Unix minute.
"""

import contextlib
import functools
import hashlib
import hmac
import ipaddress
import logging
import random
import time

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.exc import SQLAlchemyError

from survey.extensions import db, write_intent
from survey.models import FailedAttempt
from survey.services.upsert import upsert

PER_MINUTE = 30
PER_HOUR = 300
WINDOW_MINUTES = 60
RETRY_AFTER_SECONDS = 60
# Delete expired rows on about one failure in this many; the table stays tiny either way.
CLEANUP_ONE_IN = 20

log = logging.getLogger(__name__)


def current_minute() -> int:
    return int(time.time() // 60)


def limits() -> tuple[int, int]:
    """Return (failures per minute, failures per hour) allowed per client network."""
    config = current_app.config
    return (
        int(config.get("FAILED_CODE_LIMIT_PER_MINUTE", PER_MINUTE)),
        int(config.get("FAILED_CODE_LIMIT_PER_HOUR", PER_HOUR)),
    )


def client_address() -> str:
    """The client's address (behind trusted proxies, as survey/web/proxies.py sets it)."""
    return request.remote_addr or ""


def network_of(address: str) -> str:
    """Group an address with its neighbours: the /24 of IPv4, the /64 of IPv6."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:100]  # not an IP (a unix socket, a test client): its own bucket
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@functools.lru_cache(maxsize=4096)
def bucket_for(address: str, secret: str) -> str:
    """Key the client's network so that the table never holds an address.

    Remembered per worker: a phone's GET and POST (and the hall's neighbours) ask again, and
    parsing the address and the HMAC cost more than the rest of a ballot lookup's Python.
    """
    message = f"failed-code:{network_of(address)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def current_bucket() -> str:
    return bucket_for(client_address(), str(current_app.config["SECRET_KEY"]))


def is_throttled(bucket: str | None = None, minute: int | None = None) -> bool:
    """Tell whether this client network has used up its failures for the minute or hour."""
    bucket = bucket or current_bucket()
    minute = current_minute() if minute is None else minute
    per_minute, per_hour = limits()
    rows = window_counts(FailedAttempt, bucket, minute)
    this_minute = sum(count for at, count in rows if at == minute)
    this_hour = sum(count for _, count in rows)
    return this_minute >= per_minute or this_hour >= per_hour


def window_counts(model, bucket: str, minute: int) -> list[tuple[int, int]]:
    """(minute, count) of a bucket's failures within the hour window ending at `minute`."""
    return db.session.execute(
        sa.select(model.minute, model.count).where(
            model.bucket == bucket,
            model.minute > minute - WINDOW_MINUTES,
            model.minute <= minute,
        )
    ).all()


def record_failure(bucket: str | None = None, minute: int | None = None) -> None:
    """Count one failed lookup for this client network, in its own short transaction."""
    bucket = bucket or current_bucket()
    minute = current_minute() if minute is None else minute
    with counting_failures(log, "a failed ballot-code attempt"):
        db.session.execute(increment(FailedAttempt, bucket, minute))
        if random.randrange(CLEANUP_ONE_IN) == 0:
            delete_expired(minute)


@contextlib.contextmanager
def counting_failures(logger: logging.Logger, what: str):
    """Write failure counts in their own short transaction, committed at the end.

    They must outlive the refusal (a 4xx) that the request ends with, so the request's read
    transaction ends first: upgrading it to a write could fail under SQLite's WAL
    (SQLITE_BUSY_SNAPSHOT), and a refused request wrote nothing. A busy database is logged,
    not raised: it must not turn a refusal page into a server error.
    """
    db.session.rollback()
    token = write_intent.set(True)
    try:
        yield
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        logger.warning("could not record %s", what, exc_info=True)
    finally:
        write_intent.reset(token)


def delete_expired(minute: int | None = None, model=FailedAttempt) -> None:
    """Delete a count table's rows older than the hour window (in the caller's transaction)."""
    minute = current_minute() if minute is None else minute
    db.session.execute(
        sa.delete(model)
        .where(model.minute <= minute - WINDOW_MINUTES)
        .execution_options(synchronize_session=False)
    )


def increment(model, bucket: str, minute: int):
    """Count one more failure in this bucket and minute (FailedAttempt or LoginFailure)."""
    return upsert(
        model,
        {"bucket": bucket, "minute": minute, "count": 1},
        key=[model.bucket, model.minute],
        set_={"count": model.count + 1},
    )
