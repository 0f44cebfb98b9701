"""Stored XSS: what an organizer or a voter types is shown escaped on every page, never raw.

The payloads go in through the same forms people use (session, subjects, groups, questionnaire
wording, written report, ballot comments); then every page of the session that a browser
renders (HTML and SVG) is fetched while it is open and again after close, results included.
"""

import re

import pytest

from survey.extensions import db
from survey.models import EvalSession, RaterGroup, Role
from survey.services.codes import issue_codes
from survey.services.sessions import close_session, open_session
from tests.conftest import csrf_token_from
from tests.security.test_access import SLOW_DOCUMENTS, urls_for
from tests.vote.conftest import ballot_form, full_answers

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
RAW = (SCRIPT, "<img src=x onerror=alert(1)>", "<script>", "onerror=alert(1)>")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def evil(label: str) -> str:
    return f"{label}{SCRIPT}{IMAGE}"


def post_form(client, page_url: str, data: dict, post_url: str | None = None):
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(post_url or page_url, data={"csrf_token": token, **data})


def rendered(response) -> bool:
    return response.mimetype in ("text/html", "image/svg+xml")


def assert_escaped(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code < 500, f"{url} → {response.status_code}"
    text = response.get_data(as_text=True)
    if rendered(response):
        for raw in RAW:
            assert raw not in text, f"{url} shows {raw!r} unescaped"
    return text


@pytest.fixture
def session_full_of_payloads(app, client, logged_in):
    user = logged_in(Role.ORGANIZER)
    created = post_form(
        client,
        "/sessions/new",
        {
            "title": evil("测评"),
            "unit": evil("单位"),
            "meeting_type": "report_evaluate",
            "rule_set": "",
            "questionnaire": "",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    session_id = int(re.search(r"/sessions/(\d+)", created.headers["Location"]).group(1))
    base = f"/sessions/{session_id}"
    for name, post, kind in (
        (evil("班子"), "", "team"),
        (evil("书记"), evil("职务"), "principal"),
        (evil("成员"), evil("职务二"), "member"),
    ):
        response = post_form(client, f"{base}/subjects", {"name": name, "post": post, "kind": kind})
        assert response.status_code == 302, response.get_data(as_text=True)
    for number in (1, 2):
        data = {"name": evil(f"类别{number}"), "expected_count": "3", "colour": "#2471a3"}
        assert post_form(client, f"{base}/groups", data).status_code == 302
    page = client.get(f"{base}/questionnaire").get_data(as_text=True)
    wording = {
        "title": evil("测评表"),
        "instructions": evil("说明"),
        "comment_per_subject": "y",
        "comment_overall": "y",
        "comment_max_length": "500",
    }
    for name in set(re.findall(r'name="(item_\d+)"', page)):
        wording[name] = evil("项目")
    assert post_form(client, f"{base}/questionnaire", wording).status_code == 302
    session = db.session.get(EvalSession, session_id)
    subject = session.subjects[1]
    report = f"{base}/subjects/{subject.id}/report"
    assert post_form(client, report, {"text": evil("述职报告")}).status_code == 302

    codes = []
    for group in db.session.scalars(
        db.select(RaterGroup).where(RaterGroup.session_id == session_id)
    ):
        codes += issue_codes(group, 3, user)
    open_session(db.session.get(EvalSession, session_id), user)
    return session_id, subject.id, codes


def test_payloads_are_escaped_everywhere(app, client, session_full_of_payloads):
    session_id, subject_id, codes = session_full_of_payloads
    session = db.session.get(EvalSession, session_id)
    ids = {"subject_id": subject_id, "group_id": session.groups[0].id}
    voter = app.test_client()

    # While open: the ballot (and a refused ballot shown again), the report, staff pages.
    ballot = assert_escaped(voter, f"/v/{codes[0]}")
    assert ESCAPED in ballot
    report = re.search(rf'href="(/v/report/{subject_id}/[0-9a-f]+)"', ballot).group(1)
    assert ESCAPED in assert_escaped(voter, report)
    for code in codes[:5]:
        fields, page = ballot_form(voter, code)
        comments = {f"c-{s.id}": evil("意见") for s in session.subjects}
        form = {**fields, **full_answers(page), **comments, "c-overall": evil("总体意见")}
        assert voter.post("/v/submit", data=form).status_code == 303
    fields, page = ballot_form(voter, codes[5])
    again = voter.post("/v/submit", data={**fields, "c-overall": evil("空表")})
    assert again.status_code == 400
    assert all(raw not in again.get_data(as_text=True) for raw in RAW)
    open_pages = check_session_pages(app, client, session, ids)

    close_session(db.session.get(EvalSession, session_id), None)
    closed_pages = check_session_pages(app, client, session, ids)
    for listing in ("/sessions", f"/people?name={SCRIPT}"):
        assert_escaped(client, listing)
    # The payloads did reach the pages, escaped: the test looked where they are shown.
    assert any(ESCAPED in text for text in open_pages.values())
    assert sum(ESCAPED in text for text in closed_pages.values()) >= 3


def check_session_pages(app, client, session, ids) -> dict[str, str]:
    db.session.rollback()
    session = db.session.get(EvalSession, session.id)
    pages = {}
    for endpoint, method, url in urls_for(app, session, ids):
        if method == "GET" and endpoint not in SLOW_DOCUMENTS:
            pages[url] = assert_escaped(client, url)
    return pages
