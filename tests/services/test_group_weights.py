"""Rater-group weights per session: exact decimals adding up to 1, set on the groups page."""

import pytest

from survey.extensions import db
from survey.models import EvalSession, Role, SubjectRole
from survey.services import ServiceError, roster
from survey.services import sessions as sessions_service
from survey.services.codes import issue_codes
from survey.services.results import compute_results, seal_document
from survey.services.roster import SubjectInput
from survey.services.sessions import GroupInput, SessionInput, close_session
from survey.services.weights import set_group_weights
from tests.conftest import csrf_token_from
from tests.vote.conftest import ballot_form, rating_fields


def draft(owner) -> EvalSession:
    session = sessions_service.create_session(owner, SessionInput(title="加权测评"))
    roster.add_subject(session, SubjectInput("县委领导班子", "", SubjectRole.TEAM), owner)
    sessions_service.add_group(session, GroupInput("县级领导干部", 10), owner)
    sessions_service.add_group(session, GroupInput("群众代表", 10), owner)
    db.session.commit()  # as the requests that set it up would have
    return session


def weights_of(session):
    db.session.expire_all()
    return [g.weight for g in session.groups]


@pytest.mark.parametrize(
    ("texts", "stored"),
    [(("0.3", "0.7"), ["0.3", "0.7"]), (("30%", "70%"), ["0.3", "0.7"]), (("", ""), [None, None])],
)
def test_weights_that_add_up_to_one_are_kept_exactly(app, make_user, texts, stored):
    owner = make_user()
    session = draft(owner)
    set_group_weights(session, dict(zip([g.id for g in session.groups], texts, strict=True)), owner)
    assert weights_of(session) == stored


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (("0.3", "0.6"), "之和为 0.9，应恰好为 1"),
        (("0.333", "0.667"), None),  # 1 exactly: fine
        (("1/3", "2/3"), "不是有效的数"),
        (("0.3", ""), "请为“群众代表”填写权重"),
        (("0", "1"), "应大于0"),
        (("abc", "1"), "不是有效的数"),
    ],
)
def test_weights_that_do_not_add_up_are_refused(app, make_user, texts, message):
    owner = make_user()
    session = draft(owner)
    raw = dict(zip([g.id for g in session.groups], texts, strict=True))
    if message is None:
        set_group_weights(session, raw, owner)
        return
    with pytest.raises(ServiceError, match=message):
        set_group_weights(session, raw, owner)
    db.session.rollback()
    assert weights_of(session) == [None, None]


def test_weights_set_on_the_page_give_a_weighted_rate_beside_the_pooled_one(app, client, logged_in):
    owner = logged_in(Role.ORGANIZER)
    session = draft(owner)
    url = f"/sessions/{session.id}/groups"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    form = {
        "csrf_token": token,
        **{f"weight-{g.id}": w for g, w in zip(session.groups, ("0.3", "0.6"), strict=True)},
    }
    refused = client.post(f"{url}/weights", data=form)
    assert refused.status_code == 400 and "之和为 0.9，应恰好为 1" in refused.get_data(as_text=True)
    form = {
        "csrf_token": token,
        **{f"weight-{g.id}": w for g, w in zip(session.groups, ("30%", "0.7"), strict=True)},
    }
    assert client.post(f"{url}/weights", data=form).status_code == 302
    assert weights_of(session) == ["0.3", "0.7"]

    codes = [issue_codes(g, 10, owner) for g in session.groups]
    sessions_service.open_session(session, owner)
    answers = [["good"] * 10, ["good"] * 5 + ["poor"] * 5]
    for group_codes, options in zip(codes, answers, strict=True):
        for code, option in zip(group_codes, options, strict=True):
            fields, page = ballot_form(client, code)
            data = {**fields, **{name: option for name in rating_fields(page)}}
            assert client.post("/v/submit", data=data).status_code == 303
    close_session(session, None)
    results = compute_results(db.session.get(EvalSession, session.id))
    team = results.subjects[0]
    # 0.3 × 10/10 + 0.7 × 5/10 = 13/20 = 65% → 3 points; pooled 15/20 = 75% would give 8.
    assert team.rate_text == "65.00%（13/20）" and team.points == 3
    assert team.pooled_text == "不加权 75.00%（15/20）"
    assert {"name": "群众代表", "expected": 10, "weight": "0.7"} in seal_document(session)[
        "session"
    ]["groups"]
    page = client.get(f"/sessions/{session.id}/results").get_data(as_text=True)
    assert "65.00%（13/20）" in page and "按类别加权；不加权 75.00%（15/20）" in page


def test_a_sealed_archive_recomputes_the_weighted_rate(app, make_user):
    from fractions import Fraction

    from survey.domain.evaluation import evaluate_sealed

    owner = make_user()
    session = draft(owner)
    set_group_weights(
        session, {g.id: w for g, w in zip(session.groups, ("0.5", "0.5"), strict=True)}, owner
    )
    codes = [issue_codes(g, 2, owner) for g in session.groups]
    sessions_service.open_session(session, owner)
    close_session(session, None)
    document = seal_document(db.session.get(EvalSession, session.id))
    assert [g.get("weight") for g in document["session"]["groups"]] == ["0.5", "0.5"]
    assert evaluate_sealed(document, {}).subjects[0].rate is None  # no ballots, no rate
    assert codes and Fraction(1, 2) == Fraction(document["session"]["groups"][0]["weight"])
