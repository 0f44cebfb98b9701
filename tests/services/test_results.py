"""Results of a closed session: tally, scores by the rule set, seal, team parts."""

from fractions import Fraction

import pytest

from survey.domain.seal import seal_of
from survey.extensions import db
from survey.services import ServiceError
from survey.services.results import compute_results, seal_document, set_team_parts
from survey.services.sessions import close_session
from tests.vote.conftest import ballot_form, rating_fields


def vote(client, code, option_for):
    """Submit a ballot giving subject number k the option option_for(k)."""
    fields, page = ballot_form(client, code)
    answers = {}
    for k, name in enumerate(rating_fields(page)):
        option = option_for(k)
        if option:
            answers[name] = option
    data = {**fields, **answers, "confirm_partial": "1"}
    assert client.post("/v/submit", data=data).status_code == 303


@pytest.fixture
def closed(client, open_session):
    """19 ballots: the team gets 15 good, 3 average, 1 abstention; member 1 gets 18 poor."""
    for i, code in enumerate(open_session.codes[:19]):
        vote(
            client,
            code,
            lambda k, i=i: (
                ("good" if i < 15 else "average" if i < 18 else None)
                if k == 0
                else ("poor" if k == 1 and i < 18 else "good")
            ),
        )
    close_session(open_session.session, None)
    return open_session.session


def test_tally_and_scores_follow_the_rules(closed, make_user):
    results = compute_results(closed)
    assert results.received == 19 and results.expected == 60
    team, chief = results.subjects[0], results.subjects[1]
    assert (team.counts.valid, team.counts.abstain, team.good_or_better) == (18, 1, 15)
    assert team.rate == Fraction(15, 18)
    assert team.rate_text == "83.33%（15/18）"
    assert team.points == 12 and team.band == "[80%, 85%) → 12"
    assert chief.rate == Fraction(1, 19) and chief.deduction == 8 and chief.personal == 2
    assert team.final is None  # no other parts entered yet

    parts = {"conduct": "14", "punishment": "28", "prevention": "18", "responsibility": "99"}
    set_team_parts(closed, parts, make_user())
    results = compute_results(db.session.get(type(closed), closed.id))
    # 责任制落实 is capped at its maximum of 15: 12 + 14 + 28 + 18 + 15 = 87 → 8.7
    assert results.team_total.total == 87
    team, chief, county_head, member = results.subjects[:4]
    assert team.final == Fraction(87, 10)
    assert chief.final == Fraction(1, 2) * 2 + Fraction(1, 2) * Fraction(87, 10)
    # The 县长 is the second 主要负责人: 50/50 like the 书记 (9.35), not 70/30 (9.61).
    assert county_head.spec.role.label == "主要负责人"
    assert county_head.final == Fraction(1, 2) * 10 + Fraction(1, 2) * Fraction(87, 10)
    assert county_head.final == Fraction("9.35")
    assert member.final == Fraction(7, 10) * 10 + Fraction(3, 10) * Fraction(87, 10)


def test_team_parts_refuse_junk(closed, make_user):
    with pytest.raises(ServiceError, match="不是有效的数字"):
        set_team_parts(closed, {"conduct": "abc"}, make_user())


def test_seal_is_set_at_close_and_recomputes(closed):
    assert closed.seal and len(closed.seal) == 64
    assert seal_of(seal_document(closed)) == closed.seal
    assert compute_results(closed).seal == closed.seal


def test_small_groups_are_not_shown(client, open_session):
    codes = open_session.codes  # 30 codes of group 1, then 30 of group 2
    for code in codes[:6] + codes[30:33]:
        vote(client, code, lambda k: "good")
    close_session(open_session.session, None)
    results = compute_results(open_session.session)
    assert results.groups_shown == []  # one hidden group would reveal the other by subtraction
    assert len(results.groups_hidden) == 2
    assert all(row.by_group == {} for row in results.subjects)
