"""Throttle password guessing: failed logins per account and per client network, in the database.

Only failures count. Two buckets are charged for each failure: the account name typed (whether
or not it exists, so the answer reveals nothing) and the client's network (/24 or /64, as for
ballot codes). A login is refused, before the password is even checked, while either bucket
is over its limit for the last minute or the last hour.

Why these limits:
- a colleague who mistypes twice, or five times, never meets them: the first refusal comes at
  the sixth failure within one minute;
- an attacker guessing one account gets at most 20 tries an hour, 480 a day: against even an
  8-character password of lower-case letters and digits (36**8 ≈ 2.8e12) that is about
  3e9 days for an even chance; a meeting afternoon (4 h) allows 80 tries;
- one network gets at most 60 failures an hour over all accounts, so spraying many accounts
  from one place is as slow.
The account bucket means a stranger can lock an account out for up to an hour by failing on
purpose; the administrator can then reset the password (which does not clear the count) or
wait. Buckets are HMACs (keyed with SECRET_KEY): the table holds no name and no address.
"""

import hashlib
import hmac
import math
import time

from flask import current_app

from survey.extensions import db
from survey.models import LoginFailure
from survey.services.ratelimit import (
    WINDOW_MINUTES,  # one window for every count table (window_counts, delete_expired)
    client_address,
    counting_failures,
    delete_expired,
    increment,
    network_of,
    window_counts,
)

ACCOUNT_PER_MINUTE = 5
ACCOUNT_PER_HOUR = 20
NETWORK_PER_MINUTE = 20
NETWORK_PER_HOUR = 60


def current_minute() -> int:
    return int(time.time() // 60)


def _bucket(kind: str, value: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"login-{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def buckets(username: str) -> dict[str, str]:
    return {
        "account": _bucket("account", username.strip()[:64]),
        "network": _bucket("network", network_of(client_address())),
    }


def _limits() -> dict[str, tuple[int, int]]:
    config = current_app.config
    return {
        "account": (
            int(config.get("LOGIN_ACCOUNT_PER_MINUTE", ACCOUNT_PER_MINUTE)),
            int(config.get("LOGIN_ACCOUNT_PER_HOUR", ACCOUNT_PER_HOUR)),
        ),
        "network": (
            int(config.get("LOGIN_NETWORK_PER_MINUTE", NETWORK_PER_MINUTE)),
            int(config.get("LOGIN_NETWORK_PER_HOUR", NETWORK_PER_HOUR)),
        ),
    }


def wait_minutes(username: str, minute: int | None = None) -> int:
    """Minutes to wait before this login may be tried (0: go ahead)."""
    minute = current_minute() if minute is None else minute
    wait = 0
    limits = _limits()
    for kind, bucket in buckets(username).items():
        per_minute, per_hour = limits[kind]
        rows = window_counts(LoginFailure, bucket, minute)
        if sum(count for at, count in rows if at == minute) >= per_minute:
            wait = max(wait, 1)
        if sum(count for _, count in rows) >= per_hour:
            # Until enough of the hour's failures have aged out of the window.
            counts = sorted(rows)
            excess = sum(count for _, count in counts) - per_hour + 1
            for at, count in counts:
                excess -= count
                if excess <= 0:
                    wait = max(wait, at + WINDOW_MINUTES - minute)
                    break
    return wait


def refusal_message(minutes: int) -> str:
    return f"登录失败次数过多，为保护账号已暂停登录，请约{max(1, math.ceil(minutes))}分钟后再试。"


def record_failure(username: str, minute: int | None = None) -> None:
    """Charge one failed login to the account and the network, in its own transaction."""
    minute = current_minute() if minute is None else minute
    with counting_failures(current_app.logger, "a failed login"):
        for bucket in buckets(username).values():
            db.session.execute(increment(LoginFailure, bucket, minute))
        delete_expired(minute, LoginFailure)
