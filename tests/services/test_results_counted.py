"""The database's GROUP BY tally equals the domain's ballot-by-ballot tally, to the vote."""

import random
import re

from survey.domain.evaluation import evaluate
from survey.services.results import (
    _specs,
    compute_results,
    stored_ballots,
    team_parts_of,
)
from survey.services.rulesets import ruleset_for
from survey.services.sessions import close_session
from tests.vote.conftest import ballot_form


def test_counted_tally_matches_the_ballot_by_ballot_tally(client, open_session):
    rng = random.Random(17)
    for code in open_session.codes[:40]:
        fields, page = ballot_form(client, code)
        answers = {}
        for name in dict.fromkeys(re.findall(r'name="(r-\d+-\w+)"', page)):
            options = re.findall(rf'name="{name}" value="(\w+)"', page)
            if rng.random() < 0.9:  # the rest abstain on this line
                answers[name] = rng.choice(options)
        for name in re.findall(r'name="(c-[\w]+)"', page):
            if rng.random() < 0.2:
                answers[name] = rng.choice(["好", "继续努力", "=SUM(A1)"])
        if not any(key.startswith("r-") for key in answers):
            answers[next(iter(re.findall(r'name="(r-\d+-\w+)"', page)))] = "good"
        data = {**fields, **answers, "confirm_partial": "1"}
        assert client.post("/v/submit", data=data).status_code == 303
    session = open_session.session
    close_session(session, None)

    counted = compute_results(session)
    ballots = stored_ballots(session)
    subjects, groups = _specs(session)
    by_ballot = evaluate(
        session.frozen_questionnaire(),
        ruleset_for(session.rule_set_key, session.rule_set_version),
        subjects,
        groups,
        ballots,
        session.min_group_size,
        team_parts_of(session),
    )
    assert counted.received == len(ballots) == 40
    assert counted.tally.received_by_group == by_ballot.tally.received_by_group
    assert counted.tally.counts == by_ballot.tally.counts
    assert counted.subjects == by_ballot.subjects  # rates, points, comments (sorted) and all
    assert counted.overall_comments == by_ballot.overall_comments
    assert counted.groups_shown == by_ballot.groups_shown
    # The ballots themselves come when a report asks, streamed or all at once, the same set.
    streamed = sorted(b.canonical().__repr__() for b in counted.iter_ballots())
    assert streamed == sorted(b.canonical().__repr__() for b in ballots)
    assert len(counted.ballots) == 40


def test_raw_ballot_sheet_holds_every_ballot_once(client, open_session):
    import io
    from collections import Counter

    from openpyxl import load_workbook

    from survey.reports.figures import option_labels
    from survey.reports.xlsx import ABSTAIN, BALLOTS_SHEET, MERGED_GROUP, tally_workbook

    rng = random.Random(3)
    for code in open_session.codes[:25]:
        fields, page = ballot_form(client, code)
        names = list(dict.fromkeys(re.findall(r'name="(r-\d+-\w+)"', page)))
        answers = {
            name: rng.choice(re.findall(rf'name="{name}" value="(\w+)"', page))
            for name in names[:-1]  # the last line left blank: 弃权
        }
        data = {**fields, **answers, "confirm_partial": "1"}
        assert client.post("/v/submit", data=data).status_code == 303
    session = open_session.session
    close_session(session, None)
    results = compute_results(session)
    sheet = load_workbook(io.BytesIO(tally_workbook(results)), read_only=True)[BALLOTS_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 26 and rows[0][:2] == ("序号", "参评人员类别")
    assert [row[0] for row in rows[1:]] == list(range(1, 26))
    labels = dict(option_labels(results))
    keys = [(row.spec.id, key) for row in results.subjects for key in row.items]
    shown = set(results.groups_shown)
    expected = Counter(
        (
            b.group if b.group in shown else MERGED_GROUP,
            *(labels[b.ratings[k]] if k in b.ratings else ABSTAIN for k in keys),
        )
        for b in stored_ballots(session)
    )
    assert Counter(row[1:] for row in rows[1:]) == expected
