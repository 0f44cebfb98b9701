"""Nobody reaches a session they have no business with, through any URL the app serves.

Every rule of the app's URL map that takes a `session_id` is tried, with GET and POST (with a
valid CSRF token, so that the access check and not the token check answers), by an organizer
of another session, an assessor without a grant and an anonymous visitor, against an open and
a closed session. New pages (results, exports…) are covered as soon as they are registered.
"""

import itertools
import re

import pytest
import sqlalchemy as sa
from werkzeug.routing import AnyConverter, IntegerConverter

from survey.extensions import db
from survey.models import (
    AuditEntry,
    Ballot,
    BallotCode,
    EvalSession,
    PaperEntry,
    RaterGroup,
    Role,
    Subject,
    SubjectRole,
)
from survey.services.demo import create_demo
from survey.services.sessions import close_session
from tests.conftest import csrf_token_from, login
from tests.vote.conftest import ballot_form, full_answers

DENIED = {403, 404}
# Endpoints that take a session id yet are meant for anyone: none so far. A new one must be
# added here on purpose, never by accident.
PUBLIC_ENDPOINTS: set[str] = set()
# Whole reports and archives take seconds to build; their own tests cover them.
SLOW_DOCUMENTS = {"results.download", "results.subject_document"}


def string_values(name: str) -> list[str]:
    """Plausible values for a string part of a URL, so the access check is what answers."""
    if name == "kind":
        try:
            from survey.exports import EXPORT_KINDS
        except ImportError:
            return ["x"]
        return list(EXPORT_KINDS)
    return ["x"]


def urls_for(app, session: EvalSession, ids: dict[str, int]) -> list[tuple[str, str, str]]:
    """Every (endpoint, method, url) of the app that names this session."""
    found = []
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if "session_id" not in rule.arguments:
            continue
        choices = []
        for name in sorted(rule.arguments):
            converter = rule._converters.get(name)
            if name == "session_id":
                choices.append([session.id])
            elif isinstance(converter, IntegerConverter):
                choices.append([ids.get(name, 1)])
            elif isinstance(converter, AnyConverter):
                choices.append(sorted(converter.items))
            else:
                choices.append(string_values(name))
        for combination in itertools.product(*choices):
            values = dict(zip(sorted(rule.arguments), combination, strict=True))
            url = adapter.build(rule.endpoint, values)
            for method in sorted(rule.methods & {"GET", "POST"}):
                found.append((rule.endpoint, method, url))
    return found


def state_of(session_id: int) -> tuple:
    """Everything a forbidden request could have changed about a session."""
    db.session.rollback()

    def count(model, *where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    session = db.session.get(EvalSession, session_id)
    codes = db.session.execute(
        sa.select(BallotCode.status, sa.func.count())
        .where(BallotCode.session_id == session_id)
        .group_by(BallotCode.status)
        .order_by(BallotCode.status)
    ).all()
    return (
        session.title,
        session.unit,
        session.state,
        session.questionnaire_sha256,
        session.team_parts,
        count(Subject, Subject.session_id == session_id),
        count(RaterGroup, RaterGroup.session_id == session_id),
        tuple(codes),
        count(Ballot, Ballot.session_id == session_id),
        count(PaperEntry, PaperEntry.session_id == session_id),
        count(AuditEntry, AuditEntry.session_id == session_id),
    )


@pytest.fixture
def world(app, make_user):
    """An open and a closed session owned by the demo organizer, and three outsiders."""
    open_demo = create_demo(codes_per_group=5)
    db.session.commit()  # what the `survey demo` command's end does
    closed_demo = create_demo(codes_per_group=5)
    db.session.commit()  # what the `survey demo` command's end does
    voter = app.test_client()
    for code in [c for codes in closed_demo.codes.values() for c in codes][:6]:
        fields, page = ballot_form(voter, code)
        assert voter.post("/v/submit", data={**fields, **full_answers(page)}).status_code == 303
    closed = db.session.get(EvalSession, closed_demo.session_id)
    close_session(closed, None)

    opened = db.session.get(EvalSession, open_demo.session_id)
    entry = PaperEntry(
        session_id=opened.id,
        code_hash="0" * 64,
        clerk_id=opened.owner_id,
        answers="{}",
        digest="0" * 64,
    )
    db.session.add(entry)
    outsider = make_user(role=Role.ORGANIZER)
    theirs = EvalSession(title="别人的测评", owner=outsider, rule_set_key="x", rule_set_version="1")
    theirs.subjects = [Subject(name="别人", kind=SubjectRole.TEAM, position=0)]
    db.session.add(theirs)
    db.session.commit()
    assessor = make_user(role=Role.ASSESSOR)

    targets = []
    for session, extra in ((opened, {"entry_id": entry.id}), (closed, {})):
        ids = {"subject_id": session.subjects[0].id, "group_id": session.groups[0].id, **extra}
        targets.append((session.id, urls_for(app, session, ids)))
    actors = {
        "organizer of another session": signed_in(app, outsider.username),
        "assessor without a grant": signed_in(app, assessor.username),
        "anonymous visitor": anonymous(app),
    }
    # Both sessions belong to the demo organizer; the second demo set its password last.
    owner = signed_in(app, closed_demo.username, closed_demo.password)
    return targets, actors, owner


class Actor:
    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def send(self, method: str, url: str):
        if method == "GET":
            return self.client.get(url)
        return self.client.post(url, data={"csrf_token": self.token})


def signed_in(app, username: str, password: str | None = None) -> Actor:
    client = app.test_client()
    response = login(client, username, password) if password else login(client, username)
    assert response.status_code == 302
    page = client.get("/sessions").get_data(as_text=True)
    return Actor(client, csrf_token_from(page))


def anonymous(app) -> Actor:
    client = app.test_client()
    return Actor(client, csrf_token_from(client.get("/login").get_data(as_text=True)))


def test_outsiders_get_403_or_404_on_every_session_url(world):
    targets, actors, _owner = world
    tried = 0
    problems = []
    for session_id, urls in targets:
        before = state_of(session_id)
        for (who, actor), (endpoint, method, url) in itertools.product(actors.items(), urls):
            if endpoint in PUBLIC_ENDPOINTS:
                continue
            response = actor.send(method, url)
            status = response.status_code
            tried += 1
            if who == "anonymous visitor" and status in (302, 303):
                response_ok = bool(re.search(r"/login(\?|$)", response.headers["Location"]))
            else:
                response_ok = status in DENIED or (who == "anonymous visitor" and status == 401)
            if not response_ok:
                problems.append(f"{who}: {method} {url} ({endpoint}) → {status}")
        assert state_of(session_id) == before, "a refused request changed the session"
    assert not problems, "\n".join(problems)
    assert tried >= 3 * 2 * 30  # three outsiders, two sessions, every URL with a session id


def test_the_owner_does_reach_the_pages(world):
    """The refusals above mean something only if the same URLs work for the owner."""
    targets, _actors, owner = world
    reached = {}
    for _session_id, urls in targets:
        for endpoint, method, url in urls:
            if method == "GET" and endpoint not in SLOW_DOCUMENTS:
                status = owner.send(method, url).status_code
                assert status < 500, f"{url} → {status}"
                reached[endpoint] = reached.get(endpoint, False) or status == 200
    for endpoint in ("organize.session_detail", "codes.codes", "screen.screen"):
        assert reached[endpoint], endpoint
    assert sum(reached.values()) >= len(reached) // 2


def test_staff_of_lower_rank_cannot_reach_the_admin_pages(app, world):
    _targets, actors, owner = world
    admin_urls = [
        rule.rule.replace("<key>", "x").replace("<version>", "1")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
    ]
    assert admin_urls
    for actor in [*actors.values(), owner]:
        for url in admin_urls:
            for method in ("GET", "POST"):
                status = actor.send(method, url).status_code
                assert status in {302, 403, 404, 405}, f"{method} {url} → {status}"
