"""Every meeting type's questionnaire and rule set gives a complete set of reports."""

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from fractions import Fraction

import pytest
from openpyxl import load_workbook

from survey.domain import get_shipped
from survey.domain.questionnaire import shipped
from survey.exports import archive_zip
from survey.extensions import db
from survey.models import EvalSession, MeetingType, RaterGroup, Subject, SubjectRole
from survey.reports.archive import feedback_sheet
from survey.reports.charts import distribution_figure, png
from survey.reports.pdf import session_report
from survey.reports.xlsx import SUMMARY_SHEET, tally_workbook
from survey.services.codes import issue_codes
from survey.services.results import compute_results, set_team_parts
from survey.services.sessions import (
    DEFAULT_QUESTIONNAIRES,
    DEFAULT_RULE_SETS,
    close_session,
    open_session,
)
from tests.conftest import requirement_missing
from tests.vote.conftest import ballot_form, rating_fields

SUBJECTS = {
    MeetingType.SHUZE_SHULIAN: [
        ("张明", "县委书记", SubjectRole.PRINCIPAL),
        ("李华", "县长", SubjectRole.MEMBER),
    ],
    MeetingType.RISK_PREVENTION: [("县财政局", "", SubjectRole.TEAM)],
}


def pdf_text(data: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        requirement_missing("pdftotext is not installed (apt-get install poppler-utils)")
    text = subprocess.run([tool, "-", "-"], input=data, capture_output=True, check=True).stdout
    return re.sub(r"\s+", "", text.decode())


def closed_session(client, owner, meeting_type: MeetingType) -> EvalSession:
    """Six ballots: the first four rate everything 好, the last two 一般, one comment each."""
    questionnaire = shipped()[DEFAULT_QUESTIONNAIRES[meeting_type]]
    ruleset = get_shipped(DEFAULT_RULE_SETS[meeting_type])
    session = EvalSession(
        title=f"{meeting_type.label}测试",
        unit="测试单位",
        meeting_date=dt.date(2026, 1, 9),
        meeting_type=meeting_type,
        owner=owner,
        rule_set_key=ruleset.id,
        rule_set_version=ruleset.version,
        questionnaire=questionnaire.canonical_json(),
    )
    session.subjects = [
        Subject(name=name, post=post, kind=kind, position=index)
        for index, (name, post, kind) in enumerate(SUBJECTS[meeting_type])
    ]
    session.groups = [RaterGroup(name="职员代表", expected_count=8, position=0)]
    db.session.add(session)
    db.session.commit()
    codes = issue_codes(session.groups[0], 6, owner)
    open_session(session, owner)
    first = session.subjects[0].id
    for i, code in enumerate(codes):
        fields, page = ballot_form(client, code)
        option = "good" if i < 4 else "average"
        data = {**fields, **{name: option for name in rating_fields(page)}}
        if questionnaire.comment_per_subject:
            data[f"c-{first}"] = f"第{i}条意见"
        assert client.post("/v/submit", data=data).status_code == 303
    close_session(session, None)
    return db.session.get(EvalSession, session.id)


@pytest.mark.parametrize("meeting_type", [MeetingType.SHUZE_SHULIAN, MeetingType.RISK_PREVENTION])
def test_reports_of_every_meeting_type(client, make_user, meeting_type):
    results = compute_results(closed_session(client, make_user(), meeting_type))
    if meeting_type == MeetingType.RISK_PREVENTION:
        # Seed 003 grades the combined 百分制: none until the 组织考评 part is entered.
        assert results.subjects[0].grade is None
        set_team_parts(results.session, {"organisation": "80"}, make_user())
        results = compute_results(db.session.get(EvalSession, results.session.id))
    text = pdf_text(session_report(results))
    workbook = load_workbook(io.BytesIO(tally_workbook(results)))
    cells = [c for row in workbook[SUMMARY_SHEET].iter_rows(values_only=True) for c in row]
    assert "分项统计" in cells  # several items per subject: each one counted
    if meeting_type == MeetingType.RISK_PREVENTION:
        # 群众评议: 4 × 100 + 2 × 60 over 6 ballots = 86.67; with 组织考评 80 at 50/50 the
        # combined score is 83.33 → 良好 (80 ≤ s < 90)
        row = results.subjects[0]
        assert row.grade == "良好" and row.combined.total == Fraction(250, 3)
        assert "86.67" in text and "83.33" in text and "良好" in text
        assert pytest.approx(250 / 3) in cells and "良好" in cells
        assert "综合得分（组织考评＋群众评议）" in cells and "等次（按综合得分）" in cells
    else:
        assert "66.67%（4/6）" in text  # 总体评价 of each member
        assert "[60%,70%)" in text
    with zipfile.ZipFile(io.BytesIO(archive_zip(results))) as bundle:
        # the sheets, the report, the workbook, archive.json, the public key, the manifest
        # and its signature
        assert len(bundle.namelist()) == len(results.subjects) + 6
    feedback = pdf_text(feedback_sheet(results, results.subjects[0]))
    if results.questionnaire.comment_per_subject:
        assert "共6条" in feedback and "第0条意见" in feedback
    else:
        assert "共0条" in feedback
    assert png(distribution_figure(results)).startswith(b"\x89PNG\r\n\x1a\n")
