"""Seed 003's combined grade and exactness notes, from stored ballots to the page and downloads."""

import io
import re
import subprocess

from openpyxl import load_workbook

from survey.domain.tally import score_item
from survey.models import EvalSession, MeetingType, Role, SubjectRole
from survey.services import roster
from survey.services import sessions as sessions_service
from survey.services.results import compute_results
from survey.services.roster import SubjectInput
from survey.services.sessions import GroupInput, SessionInput, close_session
from tests.ballots import add_sealed
from tests.conftest import csrf_token_from


def insert_ballots(
    session: EvalSession, answers: list[dict[tuple[int, str], str]], group: int = 0
) -> None:
    """Store submitted ballots sealed, as the phone ballot would leave them (fast for 2,000)."""
    add_sealed(session, answers, group)


def xlsx_text(client, session_id: int) -> str:
    data = client.get(f"/sessions/{session_id}/results/download/xlsx").get_data()
    book = load_workbook(io.BytesIO(data))
    return "\n".join(
        str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
    )


def test_a_rate_that_shows_95_00_says_it_is_below_95(app, client, logged_in, open_session):
    session = open_session.session
    team = next(s for s in session.subjects if s.kind == SubjectRole.TEAM)
    item = score_item(session.frozen_questionnaire(), SubjectRole.TEAM)
    votes = ["good"] * 1899 + ["average"] * 100
    insert_ballots(session, [{(team.id, item): vote} for vote in votes])
    close_session(session, None)
    results = compute_results(session)
    row = results.subjects[0]
    assert row.points == 18
    assert row.rate_text == "95.00%（1899/1999，精确值低于95%）"

    logged_in(Role.ADMIN)
    page = client.get(f"/sessions/{session.id}/results").get_data(as_text=True)
    assert "95.00%（1899/1999，精确值低于95%）" in page
    assert "[90%, 95%) → 18（精确值低于95%）" in xlsx_text(client, session.id)


def risk_session(owner) -> EvalSession:
    session = sessions_service.create_session(
        owner, SessionInput(title="廉洁风险防范考评", meeting_type=MeetingType.RISK_PREVENTION)
    )
    roster.add_subject(session, SubjectInput("某处", "", SubjectRole.TEAM), owner)
    sessions_service.add_group(session, GroupInput("职员代表", 250), owner)
    sessions_service.open_session(session, owner)
    return session


def test_seed_003_grades_the_combined_score_on_every_sheet(app, client, logged_in, make_user):
    admin = logged_in(Role.ADMIN)
    session = risk_session(admin)
    assert (session.rule_set_key, session.rule_set_version) == ("integrity-risk-grades", "2")
    subject = session.subjects[0].id
    keys = [item.key for item in session.frozen_questionnaire().items]
    ninety = {(subject, key): "good" for key in keys} | {(subject, "leadership"): "poor"}
    eighty_nine = {(subject, key): "good" for key in keys} | {
        (subject, "risk_points"): "average",
        (subject, "system"): "fairly_good",
        (subject, "measures"): "fairly_good",
    }
    insert_ballots(session, [ninety] * 200 + [eighty_nine])
    close_session(session, None)

    url = f"/sessions/{session.id}/results"
    page = client.get(url).get_data(as_text=True)
    assert "群众评议（无记名问卷）合计 90.00 分" in page  # 18089/201
    assert "待组织考评录入后评定" in page
    assert "组织考评（由考核组录入，百分制）" in page

    token = csrf_token_from(page)
    refused = client.post(f"{url}/team-parts", data={"csrf_token": token, "organisation": "101"})
    assert refused.status_code == 302
    assert "应在 0 到 100 之间" in client.get(url).get_data(as_text=True)
    saved = client.post(f"{url}/team-parts", data={"csrf_token": token, "organisation": "90"})
    assert saved.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "综合得分 90.00 分" in page
    assert "36179/402，精确值低于90分" in page
    assert "良好(按综合得分(组织考评 + 群众评议)评定)" in page

    text = xlsx_text(client, session.id)
    assert "等次（按综合得分）" in text
    assert "90.00（36179/402，精确值低于90分）" in text

    sheet = client.get(f"{url}/subjects/{subject}/sheet").get_data()
    pdf = subprocess.run(["pdftotext", "-", "-"], input=sheet, capture_output=True, check=True)
    words = re.sub(r"\s+", "", pdf.stdout.decode())
    assert "组织考评（权重50%）90.00" in words
    assert "群众评议(无记名问卷)（权重" in words  # the label wraps in its cell
    assert "综合得分（百分制）90.00（36179/402，精确值低于90分）" in words
    assert "等次良好(按综合得分(组织考评+群众评议)评定)" in words


def test_quorum_is_checked_and_printed(app, client, logged_in, open_session):
    session = open_session.session  # two groups of 30 expected, 30 codes each: 应到 60
    team = next(s for s in session.subjects if s.kind == SubjectRole.TEAM)
    item = score_item(session.frozen_questionnaire(), SubjectRole.TEAM)
    insert_ballots(session, [{(team.id, item): "good"}] * 30)
    close_session(session, None)
    results = compute_results(session)
    assert not results.validity.valid
    logged_in(Role.ADMIN)
    page = client.get(f"/sessions/{session.id}/results").get_data(as_text=True)
    assert "警告：实到 30 未超过应到 60 的半数" in page
    report = client.get(f"/sessions/{session.id}/results/download/pdf").get_data()
    text = subprocess.run(["pdftotext", "-", "-"], input=report, capture_output=True, check=True)
    assert "未超过应到60的半数" in re.sub(r"\s+", "", text.stdout.decode())


def test_a_quorum_of_31_of_60_is_valid(app, client, logged_in, open_session):
    session = open_session.session
    team = next(s for s in session.subjects if s.kind == SubjectRole.TEAM)
    item = score_item(session.frozen_questionnaire(), SubjectRole.TEAM)
    insert_ballots(session, [{(team.id, item): "good"}] * 16)
    insert_ballots(session, [{(team.id, item): "good"}] * 15, group=1)
    close_session(session, None)
    assert compute_results(session).validity.text == "有效：实到超过应到半数（实到 31，应到 60）"
