"""A season with three counties, end to end: sessions with votes, facts with a rank tie and a
veto, points explained, written into the sessions, a ranking with a tie, XLSX and PDF."""

import io
import json
import re
import shutil
import subprocess
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pypdf
from openpyxl import load_workbook

from survey.extensions import db
from survey.models import EvalSession, Role, Season, SeasonUnit, SubjectRole, User
from survey.services.results import compute_results, team_parts_of
from tests.conftest import login, requirement_missing
from tests.seasons.conftest import close, post_form, prepare, vote

# Facts that earn every base point and lose none; each county overrides a few below.
FULL_MARKS = {
    **dict.fromkeys(
        [
            "conduct_rules",
            "conduct_routine",
            "conduct_inspection_plan",
            "conduct_public_notice",
            "inspection_report",
            "education_plan",
            "education_instruction",
            "study_session",
            "party_lecture",
            "warning_conference",
            "power_monitoring_plan",
            "four_not_direct",
            "e_monitoring",
            "four_systems",
            "approval_mechanism",
            "penalty_discretion",
            "rules_plan",
            "tasks_divided",
            "division_document",
            "midyear_report",
            "plenary_report",
            "subordinate_report_system",
            "annual_report",
            "experience_promoted",
        ],
        "yes",
    ),
    **dict.fromkeys(
        [
            "case_safety_problem",
            "major_case_accident",
            "penalty_standards_unpublished",
            "unreported_cases",
        ],
        "no",
    ),
    **dict.fromkeys(
        [
            "media_exposures",
            "typical_cases_province",
            "typical_cases_city",
            "approval_criticised",
            "approval_self_reported",
            "penalty_criticised",
            "penalty_self_reported",
            "principal_disciplined",
            "members_disciplined",
            "subordinate_heads_disciplined",
            "self_investigated",
        ],
        "0",
    ),
    "special_campaigns": "3",
    "inspections": "4",
    "power_catalogue": "4",
    "rules_issued": "10",
    "standing_committee_meetings": "5",
    "provincial_approvals": "3",
}

COUNTIES = [
    # name, population, team votes (good, average), members, facts
    (
        "甲县",
        "500000",
        (20, 0),
        [("周明", "县委书记", SubjectRole.PRINCIPAL), ("吴刚", "县长", SubjectRole.PRINCIPAL)],
        {
            "case_work_score": "95",  # tied first with 乙县
            "petitions": "100",  # 2.0 per 10,000: lowest
            "visits": "25",  # 0.5 per 10,000: tied lowest with 乙县
            "results_required": "10",
            "results_concluded": "10",
        },
    ),
    (
        "乙县",
        "600000",
        (19, 1),  # 95% exactly: still the 20-point band
        [("郑华", "县委书记", SubjectRole.PRINCIPAL), ("王敏", "县长", SubjectRole.PRINCIPAL)],
        {
            "case_work_score": "95",
            "petitions": "132",  # 2.2 per 10,000: second
            "visits": "30",  # 0.5 per 10,000
            "results_required": "8",
            "results_concluded": "8",
            "approval_self_reported": "1",  # +0.1 makes up for the 0.1 lost on petitions
        },
    ),
    (
        "丙县",
        "400000",
        (18, 2),  # 90%: 18 points
        [("冯杰", "县委书记", SubjectRole.PRINCIPAL), ("陈丽", "县长", SubjectRole.PRINCIPAL)],
        {
            "case_work_score": "80",  # third: places 1, 1, 3
            "petitions": "120",
            "visits": "40",
            "results_required": "10",
            "results_concluded": "9",
            "major_case_accident": "yes",  # one-vote veto: 惩治腐败 0
            "special_campaigns": "2",  # one short: −1
            "media_exposures": "1",  # −1
            "provincial_approvals": "5",  # capped at 3
        },
    ),
]


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """Extract the text with poppler (pypdf misreads fpdf2's two-byte CID text)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        requirement_missing("pdftotext is not installed (apt-get install poppler-utils)")
    path = tmp_path / "season.pdf"
    path.write_bytes(data)
    done = subprocess.run([tool, str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def _id_from(location: str, pattern: str) -> int:
    match = re.search(pattern, location)
    assert match, location
    return int(match.group(1))


def test_a_season_of_three_counties_runs_end_to_end(app, client, make_user, tmp_path):
    organizer = make_user(role=Role.ORGANIZER)
    assessor = make_user(role=Role.ASSESSOR)
    assert login(client, organizer.username).status_code == 302
    phone = app.test_client()

    # The organizer creates the season and its three units, each with a new session.
    response = post_form(
        client,
        "/seasons",
        "/seasons",
        {
            "name": "2026年度党风廉政建设责任制考核",
            "year": "2026",
            "checklist": "langfang-2014:1",
            "holidays": "2026-10-01 国庆节\n2026-10-10 上班",
        },
    )
    assert response.status_code == 302
    season_id = _id_from(response.headers["Location"], r"/seasons/(\d+)")
    dashboard = f"/seasons/{season_id}"
    sessions: dict[str, EvalSession] = {}
    for name, population, *_ in COUNTIES:
        added = post_form(
            client, dashboard, f"{dashboard}/units", {"name": name, "population": population}
        )
        assert added.status_code == 302
    units = {u.name: u for u in db.session.get(Season, season_id).units}
    for name, *_ in COUNTIES:
        created = post_form(
            client, dashboard, f"{dashboard}/units/{units[name].id}/session/new", {}
        )
        assert created.status_code == 302
        session_id = _id_from(created.headers["Location"], r"/sessions/(\d+)")
        sessions[name] = db.session.get(EvalSession, session_id)
    html = client.get(dashboard).get_data(as_text=True)
    assert "未建测评 0 个，准备中 3 个" in html

    # Each county's meeting: a team and two members, 20 cards, votes from phones, then close.
    owner = db.session.get(User, organizer.id)
    for name, _, (good, average), members, _ in COUNTIES:
        subjects = [(f"{name}委领导班子", "", SubjectRole.TEAM), *members]
        prepared = prepare(sessions[name], owner, subjects, codes=good + average)
        for index, code in enumerate(prepared.codes):
            vote(phone, prepared.session, code, team="good" if index < good else "average")
    html = client.get(dashboard).get_data(as_text=True)
    assert "测评进行中 3 个" in html and "20 / 20" in html
    for session in sessions.values():
        close(session)
    assert "已结束 3 个" in client.get(dashboard).get_data(as_text=True)

    # The organizer grants the season to the assessor, who enters the facts.
    granted = post_form(client, dashboard, f"{dashboard}/grants", {"username": assessor.username})
    assert granted.status_code == 302
    desk = app.test_client()
    assert login(desk, assessor.username).status_code == 302
    assert desk.get(dashboard).status_code == 200
    for number, (name, population, _, _, overrides) in enumerate(COUNTIES):
        url = f"{dashboard}/units/{units[name].id}/facts"
        saved = post_form(desk, url, url, {**FULL_MARKS, **overrides, "population": population})
        assert saved.status_code == 302, saved.get_data(as_text=True)[:800]
        if number == 0:
            # One county in: its rank points are 暂定, and the pages say who is missing.
            early = desk.get(f"{dashboard}/points").get_data(as_text=True)
            assert "名次类项目的得分暂定：乙县、丙县 的有关事实尚未录入" in early
            assert "得20分（暂定：另有2个单位尚未录入，名次可能变化）" in early
            early = desk.get(f"{dashboard}/results").get_data(as_text=True)
            assert "领导班子得分与名次（暂定）" in early
            assert "排名暂定：甲县、乙县、丙县 的考核事实或得分尚未齐全" in early
            book = load_workbook(io.BytesIO(desk.get(f"{dashboard}/results.xlsx").get_data()))
            note = book["单位排名"]["A2"].value
            assert "排名暂定：甲县、乙县、丙县的考核事实或得分尚未齐全" in note

    # The points, explained line by line.
    points = desk.get(f"{dashboard}/points").get_data(as_text=True)
    assert "查办案件工作考核：95分，由高到低第1名（2个单位并列），共3个单位，得20分" in points
    assert "查办案件工作考核：80分，由高到低第3名，共3个单位，得16分" in points
    assert "开展专项治理2次，少1次，扣1分，得2分（本项3分）" in points
    assert "被市级及以上新闻媒体曝光并查实1起，每起扣1分，扣1分" in points
    assert "出现重大案件安全事故：是，实行一票否决" in points
    assert "一票否决，惩治腐败方面记0分" in points
    assert "每万人2.20件，由低到高第2名，共3个单位，得0.9分" in points
    assert "得到省以上领导批示肯定5次，每次加1分，最多加3分，加3分" in points
    assert "审批监管事项自查通报1件，每件加0.1分，加0.1分" in points

    # Written into each session's team parts; the organizer may not do it, the assessor may.
    refused = post_form(client, dashboard, f"{dashboard}/apply", {})
    assert refused.status_code == 403
    applied = post_form(desk, dashboard, f"{dashboard}/apply", {})
    assert applied.status_code == 302
    parts = {name: team_parts_of(db.session.get(EvalSession, s.id)) for name, s in sessions.items()}
    assert parts["甲县"] == {
        "conduct": 15,
        "punishment": 27,
        "prevention": 18,
        "responsibility": 15,
    }
    assert parts["乙县"]["punishment"] == Fraction("26.9")
    assert parts["乙县"]["prevention"] == Fraction("18.1")
    assert parts["丙县"] == {"conduct": 13, "punishment": 0, "prevention": 18, "responsibility": 15}
    season = db.session.get(Season, season_id)
    assert season.checklist_sha256 and season.computed_at
    kept = db.session.get(SeasonUnit, units["丙县"].id).result
    assert kept["checklist"]["sha256"] == season.checklist_sha256
    assert "一票否决" in json.dumps(kept, ensure_ascii=False)

    # Member finals follow the team total: 甲县 95 → 9.5 on the 10-point scale.
    results = compute_results(db.session.get(EvalSession, sessions["甲县"].id))
    finals = {row.spec.name: row.final for row in results.subjects}
    assert results.team_total.total == 95
    assert finals["周明"] == Fraction("9.75")  # 50% × 10 + 50% × 9.5
    # The 县长 is a 党政主要负责人 too (seed 002): 50/50, not the members' 70/30 (9.85).
    assert finals["吴刚"] == Fraction("9.75")  # 50% × 10 + 50% × 9.5

    # The ranking: 甲县 and 乙县 tie for first, 丙县 is third (second place is skipped).
    page = desk.get(f"{dashboard}/results").get_data(as_text=True)
    ranking = re.findall(
        r"<tr>\s*<td>([^<]+)</td>\s*<td>(\S+?)(?: <a|</td>).*?"
        r"<td>([\d.—]+)</td>\s*<td>([\d.—]+)</td>\s*</tr>",
        page,
        flags=re.S,
    )
    table = [(unit, total, place) for place, unit, total, _ in ranking]
    print("\nseason ranking (unit, team total, place):")
    for row in table:
        print("  ", *row)
    assert table == [("甲县", "95", "1（并列）"), ("乙县", "95", "1（并列）"), ("丙县", "64", "3")]
    assert "暂定" not in page

    # XLSX, read back.
    xlsx = desk.get(f"{dashboard}/results.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["Cache-Control"] == "no-store"
    book = load_workbook(io.BytesIO(xlsx.get_data()))
    rows = list(book["单位排名"].iter_rows(min_row=4, values_only=True))
    assert [(r[0], r[1], Decimal(str(r[7])), Decimal(str(r[8]))) for r in rows] == [
        (1, "甲县", Decimal("95"), Decimal("9.5")),
        (1, "乙县", Decimal("95"), Decimal("9.5")),
        (3, "丙县", Decimal("64"), Decimal("6.4")),
    ]
    assert season.checklist_sha256 in book["单位排名"]["A2"].value
    members = {
        r[1]: Decimal(str(r[6])) for r in book["班子成员"].iter_rows(min_row=2, values_only=True)
    }
    assert members["周明"] == Decimal("9.75") and members["冯杰"] == Decimal("8.2")
    # Rates are numbers (0.00%) with the exact fraction beside them; headers frozen, filtered.
    member_sheet = book["班子成员"]
    assert member_sheet["E2"].number_format == "0.00%" and "/" in member_sheet["H2"].value
    assert isinstance(member_sheet["E2"].value, (int, float))
    assert member_sheet.freeze_panes == "C2" and member_sheet.auto_filter.ref
    assert book.properties.creator == "民主测评平台"
    assert season.checklist_sha256[:16] in member_sheet.oddHeader.right.text
    assert member_sheet.page_setup.orientation == "landscape"
    explained = [r[3] for r in book["计分说明"].iter_rows(min_row=2, values_only=True)]
    assert "一票否决，惩治腐败方面记0分" in explained

    # PDF, read back.
    pdf = desk.get(f"{dashboard}/results.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert len(pypdf.PdfReader(io.BytesIO(pdf.data)).pages) >= 4  # summary + one per county
    text = pdf_text(pdf.data, tmp_path)
    assert "2026年度党风廉政建设责任制考核" in text
    for unit in ("甲县", "乙县", "丙县", "周明", "9.75"):
        assert unit in text
    assert "一票否决" in text
    assert "1（并列）" in text and "暂定" not in text
    pages = len(pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert f"第{pages}页共{pages}页" in text.replace(" ", "") and "（盖章）" in text
    # Dates and seals of every unit's session; every page names its unit; Chinese breaks.
    flat = re.sub(r"\s+", "", text)
    assert "生成时间" in flat and "签发时间" in flat
    for unit in season.units:
        session = db.session.get(EvalSession, unit.session_id)
        day = session.meeting_date
        assert day is not None  # created by the season, dated when opened
        assert f"{day.year}年{day.month}月{day.day}日" in flat
        assert session.seal in flat
        assert f"测评日期：{day.year}年{day.month}月{day.day}日" in flat  # its own page
    for number, page_text in enumerate(text.split("\f")[:pages], start=1):
        assert f"第{number}页共{pages}页" in re.sub(r"\s+", "", page_text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert not [line for line in lines if line[0] in "，。；：、"], lines
