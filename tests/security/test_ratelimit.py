"""Failed code lookups are throttled per client network, in the database; honest use never is."""

import sqlalchemy as sa

from survey import create_app
from survey.extensions import db
from survey.models import FailedAttempt
from survey.services import ratelimit
from survey.services.demo import create_demo
from tests.conftest import IsolatedClient, _test_config
from tests.vote.conftest import ballot_form, count_ballots, full_answers

MINUTE = 29_000_000  # a fixed Unix minute, so no test straddles a real minute boundary
WRONG = "ABCDE-FGHJK"
HALL = {"REMOTE_ADDR": "10.20.30.40"}


def fix_minute(monkeypatch, minute: int = MINUTE) -> None:
    monkeypatch.setattr(ratelimit, "current_minute", lambda: minute)


def wrong_attempts(client, count: int, environ=HALL) -> list[int]:
    """Fail `count` lookups, alternating the three ways a code can be tried."""
    statuses = []
    for n in range(count):
        if n % 3 == 0:
            response = client.get(f"/v/{WRONG}", environ_base=environ)
        elif n % 3 == 1:
            response = client.post("/v", data={"code": WRONG}, environ_base=environ)
        else:
            form = {"code": WRONG, "token": "t" * 20, "r-1-overall": "good"}
            response = client.post("/v/submit", data=form, environ_base=environ)
        statuses.append(response.status_code)
    return statuses


def stored_counts() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(FailedAttempt.count), 0)))


def test_thousand_honest_phones_behind_one_address_are_never_throttled(app, client, monkeypatch):
    fix_minute(monkeypatch)  # the worst case: everyone in the same minute
    demo = create_demo(codes_per_group=500)
    db.session.commit()  # what the `survey demo` command's end does
    codes = [code for group in demo.codes.values() for code in group]
    assert len(codes) == 1000
    statuses = []
    for number, code in enumerate(codes):
        statuses.append(client.get(f"/v/{code}", environ_base=HALL).status_code)
        if number % 50 == 0:  # a typo now and then: 20 in all
            statuses.append(
                client.post("/v", data={"code": code[:-1]}, environ_base=HALL).status_code
            )
    assert statuses.count(200) == 1000
    assert statuses.count(404) == 20
    assert 429 not in statuses
    assert stored_counts() == 20  # only the typos were counted


def test_the_31st_wrong_code_in_a_minute_gets_429_even_for_a_valid_code(
    client, open_session, monkeypatch
):
    fix_minute(monkeypatch)
    assert wrong_attempts(client, 30) == [404] * 30
    refused = client.get(f"/v/{WRONG}", environ_base=HALL)
    assert refused.status_code == 429
    assert "尝试次数过多，请稍后再试" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "60"
    # While throttled a real code is refused too: otherwise the 429 would not stop guessing.
    good = open_session.codes[0]
    assert client.get(f"/v/{good}", environ_base=HALL).status_code == 429
    assert client.post("/v", data={"code": good}, environ_base=HALL).status_code == 429
    # Another network is not affected, and the entry form itself stays reachable.
    assert client.get(f"/v/{good}", environ_base={"REMOTE_ADDR": "10.20.31.1"}).status_code == 200
    assert client.get("/v", environ_base=HALL).status_code == 200
    # The next minute the hall can vote again.
    fix_minute(monkeypatch, MINUTE + 1)
    assert client.get(f"/v/{good}", environ_base=HALL).status_code == 200


def test_a_throttled_submit_stores_nothing(client, open_session, monkeypatch):
    fix_minute(monkeypatch)
    fields, page = ballot_form(client, open_session.codes[0])
    wrong_attempts(client, 30)
    response = client.post("/v/submit", data={**fields, **full_answers(page)}, environ_base=HALL)
    assert response.status_code == 429
    assert count_ballots(open_session.session.id) == 0


def test_three_hundred_failures_an_hour_close_the_hour(client, open_session, monkeypatch):
    for minute in range(10):
        fix_minute(monkeypatch, MINUTE + minute)
        assert 429 not in wrong_attempts(client, 30)
    fix_minute(monkeypatch, MINUTE + 10)
    good = open_session.codes[0]
    assert client.get(f"/v/{good}", environ_base=HALL).status_code == 429
    fix_minute(monkeypatch, MINUTE + 59)
    assert client.get(f"/v/{good}", environ_base=HALL).status_code == 429
    fix_minute(monkeypatch, MINUTE + 60)  # the first minute's 30 have left the window
    assert client.get(f"/v/{good}", environ_base=HALL).status_code == 200


def test_limits_hold_across_two_app_instances(app, database_url, open_session, monkeypatch):
    fix_minute(monkeypatch)
    other = create_app(_test_config(database_url))
    other.test_client_class = IsolatedClient
    first, second = app.test_client(), other.test_client()
    assert wrong_attempts(first, 15) == [404] * 15
    assert wrong_attempts(second, 15) == [404] * 15
    assert first.get(f"/v/{WRONG}", environ_base=HALL).status_code == 429
    assert second.get(f"/v/{open_session.codes[0]}", environ_base=HALL).status_code == 429


def test_successful_and_used_codes_never_count(client, open_session, monkeypatch):
    fix_minute(monkeypatch)
    code = open_session.codes[0]
    fields, page = ballot_form(client, code)
    assert client.post("/v/submit", data={**fields, **full_answers(page)}).status_code == 303
    for _ in range(40):
        assert client.get(f"/v/{code}", environ_base=HALL).status_code == 409  # used
    assert client.post("/v", data={"code": "  "}, environ_base=HALL).status_code == 400
    assert stored_counts() == 0


def test_the_table_holds_a_keyed_hash_of_the_network_not_the_address(app, client, monkeypatch):
    fix_minute(monkeypatch)
    client.get(f"/v/{WRONG}", environ_base={"REMOTE_ADDR": "192.168.7.21"})
    client.get(f"/v/{WRONG}", environ_base={"REMOTE_ADDR": "192.168.7.200"})  # same /24
    client.get(f"/v/{WRONG}", environ_base={"REMOTE_ADDR": "2001:db8:1:2:aaaa::1"})
    client.get(f"/v/{WRONG}", environ_base={"REMOTE_ADDR": "2001:db8:1:2:bbbb::9"})  # same /64
    client.get(f"/v/{WRONG}", environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"})
    db.session.rollback()
    rows = db.session.execute(sa.select(FailedAttempt.bucket, FailedAttempt.count)).all()
    assert sorted(count for _, count in rows) == [1, 2, 2]
    for bucket, _ in rows:
        assert len(bucket) == 64 and "192.168" not in bucket and "2001" not in bucket
    secret = app.config["SECRET_KEY"]
    assert ratelimit.bucket_for("192.168.7.21", secret) != ratelimit.bucket_for(
        "192.168.7.21", "another key"
    )
    assert ratelimit.bucket_for("::ffff:192.168.7.9", secret) == ratelimit.bucket_for(
        "192.168.7.21", secret
    )
    assert ratelimit.network_of("not an address") == "not an address"


def test_forwarded_address_is_used_only_behind_a_trusted_proxy(app, client, monkeypatch):
    fix_minute(monkeypatch)
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    spoofed = {"X-Forwarded-For": "1.1.1.1"}
    for _ in range(30):
        client.get(f"/v/{WRONG}", environ_base=proxy, headers=spoofed)
    # Without TRUSTED_PROXIES the header is ignored: all of that counted against 127.0.0.1.
    assert client.get(f"/v/{WRONG}", environ_base=proxy).status_code == 429
    app.config["TRUSTED_PROXIES"] = 1
    # nginx appends the real client: a forged first entry is ignored.
    real = {"X-Forwarded-For": "6.6.6.6, 10.9.8.7"}
    assert client.get(f"/v/{WRONG}", environ_base=proxy, headers=real).status_code == 404
    assert client.get(f"/v/{WRONG}", environ_base=proxy, headers=spoofed).status_code == 404


def test_expired_rows_are_deleted_on_the_way(app, client, monkeypatch):
    db.session.add_all(
        FailedAttempt(bucket=f"{n:064x}", minute=MINUTE - 61 - n, count=3) for n in range(5)
    )
    db.session.add(FailedAttempt(bucket="f" * 64, minute=MINUTE - 5, count=1))
    db.session.commit()
    fix_minute(monkeypatch)
    monkeypatch.setattr(ratelimit, "CLEANUP_ONE_IN", 1)
    client.get(f"/v/{WRONG}", environ_base=HALL)
    db.session.rollback()
    minutes = sorted(db.session.scalars(sa.select(FailedAttempt.minute)))
    assert minutes == [MINUTE - 5, MINUTE]
