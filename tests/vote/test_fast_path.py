"""The ballot fast path (survey/web/vote/fast.py): the ordinary GET and POST answered in front
of Flask exactly as Flask's routes answer them, and every other case left to the routes."""

import gzip
import re
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from flask import Flask, request
from hypothesis import given, settings
from hypothesis import strategies as st

import survey.web.vote.routes as routes
from survey.extensions import db
from survey.inputs import CleanRequest
from survey.models import FailedAttempt
from survey.security import display_code
from survey.web.vote.fast import parse_form
from tests.vote.conftest import code_statuses, count_ballots, full_answers, sealed_contents

GZIP = {"Accept-Encoding": "gzip"}
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


def flask_must_not_answer(monkeypatch):
    """Make the Flask routes fail, so that only the fast path can answer."""

    def refused(*_args, **_kwargs):
        raise AssertionError("Flask's route answered a request the fast path should have")

    monkeypatch.setattr(routes, "show_ballot", refused)
    monkeypatch.setattr(routes, "check_origin", refused)


def page_text(response) -> str:
    data = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return data.decode()


def without_holes(text: str) -> str:
    return HIDDEN.sub("", text)


def test_the_fast_page_is_flasks_page_with_flasks_headers(client, open_session, monkeypatch):
    first, second = open_session.codes[:2]
    by_flask = client.get(f"/v/{first}", headers=GZIP)  # the worker's first: rendered by Flask
    assert by_flask.status_code == 200
    flask_must_not_answer(monkeypatch)
    fast = client.get(f"/v/{second}", headers=GZIP)
    assert fast.status_code == 200
    assert without_holes(page_text(fast)) == without_holes(page_text(by_flask))
    fields = dict(HIDDEN.findall(page_text(fast)))
    assert fields["code"] == display_code(second) and len(fields["token"]) >= 32
    expected = {k: v for k, v in by_flask.headers.items() if k not in ("Content-Length", "Vary")}
    got = {k: v for k, v in fast.headers.items() if k not in ("Content-Length", "Vary")}
    assert got == expected
    assert fast.headers["Vary"] == "Accept-Encoding"
    assert int(fast.headers["Content-Length"]) == len(fast.get_data())
    assert "Set-Cookie" not in fast.headers


def test_a_fast_submit_stores_once_and_a_retry_gets_the_same_receipt(
    client, open_session, monkeypatch
):
    code = open_session.codes[0]
    page = page_text(client.get(f"/v/{code}", headers=GZIP))
    form = {**dict(HIDDEN.findall(page)), **full_answers(page), "c-overall": "意见" * 100}
    with monkeypatch.context() as patched:
        flask_must_not_answer(patched)
        stored = client.post("/v/submit", data=form)
    assert stored.status_code == 303 and stored.headers["Location"] == "/v/done"
    assert stored.headers["Cache-Control"] == "no-store"
    assert stored.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in stored.headers
    again = client.post("/v/submit", data=form)  # the network lost the first answer
    assert again.status_code == 303
    other = client.post("/v/submit", data={**form, "token": "another-form-token-1234"})
    assert other.status_code == 409
    session_id = open_session.session.id
    assert count_ballots(session_id) == 1
    assert sealed_contents(session_id)[0].overall == "意见" * 100


def test_what_the_fast_path_does_not_take_flask_answers(client, open_session):
    code, other = open_session.codes[:2]
    client.get(f"/v/{code}", headers=GZIP)  # the page is cached: the fast path is ready
    assert client.get("/v/ABCDE-FGHJK", headers=GZIP).status_code == 404
    assert client.get("/v/done", headers=GZIP).status_code == 200
    page = page_text(client.get(f"/v/{other}", headers=GZIP))
    form = {**dict(HIDDEN.findall(page)), **full_answers(page)}
    foreign = client.post("/v/submit", data=form, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    blank = {**dict(HIDDEN.findall(page)), next(iter(full_answers(page))): "good"}
    asked = client.post("/v/submit", data=blank)  # lines left blank: confirm first
    assert asked.status_code == 200 and "confirm_partial" in page_text(asked)
    wrong = client.post("/v/submit", data={**form, "r-1-overall": "nonsense"})
    assert wrong.status_code == 400
    assert count_ballots(open_session.session.id) == 0
    assert client.post("/v/submit", data=form).status_code == 303
    assert client.get(f"/v/{other}", headers=GZIP).status_code == 409  # used now
    statuses = code_statuses(open_session.session.id)
    assert sum(statuses.values()) == len(open_session.codes)


def test_a_failed_lookup_is_counted_once_whichever_path_answers(client, open_session):
    client.get(f"/v/{open_session.codes[0]}", headers=GZIP)
    environ = {"REMOTE_ADDR": "10.9.8.7"}
    client.get("/v/ABCDE-FGHJK", headers=GZIP, environ_base=environ)
    form = {"code": "ABCDE-FGHJK", "token": "t" * 24, "r-1-overall": "good"}
    client.post("/v/submit", data=form, environ_base=environ)
    db.session.rollback()
    failures = db.session.scalar(sa.select(sa.func.sum(FailedAttempt.count)))
    assert failures == 2


FORM_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12
)  # any character a browser can send, control characters and escapes' look-alikes included


def flask_form(body: bytes) -> dict:
    """What the app's views get of this body: request.form.to_dict() through CleanRequest."""
    app = Flask(__name__)
    app.request_class = CleanRequest
    with app.test_request_context(
        "/v/submit", method="POST", data=body, content_type="application/x-www-form-urlencoded"
    ):
        return request.form.to_dict()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(FORM_TEXT, FORM_TEXT), max_size=8))
def test_the_form_parser_reads_what_flasks_reads(pairs):
    body = urlencode(pairs).encode()
    assert parse_form(body) == flask_form(body)


@pytest.mark.parametrize(
    ("body", "handled"),
    [
        (b"a=%E6%84%8F&a=second&b=1+2", True),
        (b"a&b=&=c&&d=%zz%41", True),
        (b"code=abc%00def&r-1-overall=good%0b", True),
        (b"a=%e6%84%8f%2B+%25", True),
        ("c=意见".encode(), False),  # raw UTF-8 bytes: Flask's parser decides
        (b"c=%E6%84", False),  # half a character: Flask's parser decides
    ],
)
def test_odd_bodies_parse_as_flask_parses_them_or_go_to_flask(body, handled):
    parsed = parse_form(body)
    assert (parsed is not None) == handled
    assert parsed is None or parsed == flask_form(body)
    assert parse_form(b"x=" + quote("意见").encode()) == {"x": "意见"}
