"""A closed demo session with known votes, shared by the download and browser tests.

Per subject 5 好, 3 较好, 4 一般, 2 差 (14 valid, 较好以上 8/14 = 57.14%), one comment on 张明
and one overall comment, both on the first ballot.
"""

from dataclasses import dataclass

from survey.extensions import db
from survey.models import EvalSession
from survey.services.sessions import close_session
from tests.vote.conftest import ballot_form, rating_fields

PATTERN = [("good", 5), ("fairly_good", 3), ("average", 4), ("poor", 2)]
SUBJECTS = ["县委领导班子", "张明", "李华", "王芳", "赵强", "陈静"]
SUBJECT_COMMENT = "建议多下基层调研"
OVERALL_COMMENT = "班子团结，希望继续加强作风建设"


@dataclass(frozen=True)
class ClosedSession:
    """What tests need of the closed session, read while its transaction was open."""

    id: int
    title: str
    seal: str


def vote(client, code: str, option: str, comments: dict | None = None) -> None:
    fields, page = ballot_form(client, code)
    answers = {name: option for name in rating_fields(page)}
    response = client.post("/v/submit", data={**fields, **answers, **(comments or {})})
    assert response.status_code == 303


def cast_known_votes_and_close(app, open_session) -> ClosedSession:
    """Cast the known ballots from a phone (the test client), then close the session.

    Ends the test's own transaction before returning: like a CLI command, it holds SQLite's
    write lock while open, and a server or process the test starts next needs that lock.
    """
    session = db.session.get(EvalSession, open_session.session.id)
    zhang = next(s for s in session.subjects if s.name == "张明")
    phone = app.test_client()
    codes = iter(open_session.codes)
    comments = {f"c-{zhang.id}": SUBJECT_COMMENT, "c-overall": OVERALL_COMMENT}
    for option, count in PATTERN:
        for _ in range(count):
            vote(phone, next(codes), option, comments)
            comments = None
    close_session(db.session.get(EvalSession, session.id), None)
    closed = db.session.get(EvalSession, session.id)
    snapshot = ClosedSession(closed.id, closed.title, closed.seal)
    db.session.commit()
    return snapshot
