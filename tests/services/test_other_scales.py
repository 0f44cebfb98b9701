"""Shipped scales other than 好/较好/一般/差: 称职以上率 and 满意率, from phone to download."""

import io
import subprocess

import pytest
from openpyxl import load_workbook

from survey.domain import get_shipped
from survey.domain.questionnaire import shipped
from survey.extensions import db
from survey.models import EvalSession, Role, SubjectRole
from survey.services import roster
from survey.services import sessions as sessions_service
from survey.services.codes import issue_codes
from survey.services.results import compute_results
from survey.services.roster import SubjectInput
from survey.services.sessions import GroupInput, SessionInput, close_session
from tests.vote.conftest import ballot_form, rating_fields


def run_session(client, owner, questionnaire: str, rules: str, answers: list[str]):
    """Open a session of one team and two principals, vote answers[i] on every line, close."""
    session = sessions_service.create_session(
        owner, SessionInput(title="测评", questionnaire=questionnaire, rule_set=rules)
    )
    for name, post, kind in (
        ("县委领导班子", "", SubjectRole.TEAM),
        ("张明", "县委书记", SubjectRole.PRINCIPAL),
        ("李华", "县长", SubjectRole.PRINCIPAL),
    ):
        roster.add_subject(session, SubjectInput(name, post, kind), owner)
    sessions_service.add_group(session, GroupInput("参会人员", len(answers)), owner)
    codes = issue_codes(session.groups[0], len(answers), owner)
    sessions_service.open_session(session, owner)
    for code, option in zip(codes, answers, strict=True):
        fields, page = ballot_form(client, code)
        data = {**fields, **{name: option for name in rating_fields(page)}}
        assert client.post("/v/submit", data=data).status_code == 303
    close_session(session, None)
    return db.session.get(EvalSession, session.id)


def test_the_shipped_scales_load_with_their_rule_sets():
    assert shipped()["chengzhi"].rate_label == "称职以上率"
    assert shipped()["manyi"].rate_label == "满意率"
    assert get_shipped("chengzhi-rate").rate_grades.lookup(1) == "好"
    # The default label is not written into older forms' frozen JSON.
    assert "rate_label" not in shipped()["dangfeng-zerenzhi"].canonical_json()


def test_chengzhi_rate_end_to_end(app, client, logged_in):
    owner = logged_in(Role.ADMIN)
    # 9 优秀 + 8 称职 of 20 valid = 85% → 较好; one 不称职 … and two who left it blank.
    answers = ["excellent"] * 9 + ["competent"] * 8 + ["basically_competent"] * 2
    answers += ["incompetent"]
    session = run_session(client, owner, "chengzhi", "chengzhi-rate:1", answers)
    results = compute_results(session)
    for row in results.subjects:
        assert row.rate_text == "85.00%（17/20）"
        assert row.grade == "较好" and row.band == "[80%, 90%) → 较好"
    page = client.get(f"/sessions/{session.id}/results").get_data(as_text=True)
    assert "<th>称职以上率</th>" in page and "<th>优秀</th>" in page and "较好" in page
    assert "（优秀＋称职）/有效票" in page
    data = client.get(f"/sessions/{session.id}/results/download/xlsx").get_data()
    cells = {
        c for s in load_workbook(io.BytesIO(data)) for r in s.iter_rows(values_only=True) for c in r
    }
    assert {"优秀", "称职", "基本称职", "不称职", "17/20", "[80%, 90%) → 较好"} <= cells
    # The workbook and the report name the scale's own rate, never 较好以上率.
    assert {"称职以上票数", "称职以上率（分数）", "称职以上率（百分比）"} <= cells
    assert not any("较好以上" in str(c) for c in cells)
    report = client.get(f"/sessions/{session.id}/results/download/pdf").get_data()
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=report, capture_output=True, check=True
    ).stdout.decode()
    assert "称职以上率" in text


@pytest.mark.parametrize(
    ("answers", "rate", "grade"),
    [
        # 不了解 is a valid vote that is not satisfied: 8 of 10 → 80% → 满意.
        (
            ["satisfied"] * 6 + ["basically_satisfied"] * 2 + ["unknown"] * 2,
            "80.00%（8/10）",
            "满意",
        ),
        (["satisfied"] * 7 + ["dissatisfied"] * 3, "70.00%（7/10）", "基本满意"),
    ],
)
def test_manyi_rate_end_to_end(app, client, logged_in, answers, rate, grade):
    owner = logged_in(Role.ADMIN)
    session = run_session(client, owner, "manyi", "manyi-rate:1", answers)
    row = compute_results(session).subjects[0]
    assert (row.rate_text, row.grade) == (rate, grade)
    page = client.get(f"/sessions/{session.id}/results").get_data(as_text=True)
    assert "<th>满意率</th>" in page and "<th>不了解</th>" in page
