"""The organizer's pages, without JavaScript: create, fill in, open, close; refusals are 4xx."""

import io
import re

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    AuditEntry,
    BallotCode,
    EvalSession,
    GrantLevel,
    Role,
    SessionGrant,
    SessionState,
    SubjectRole,
)
from survey.services import sessions as sessions_service
from survey.services.sessions import SessionInput
from tests.conftest import csrf_token_from


def token(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    return csrf_token_from(page.get_data(as_text=True))


def follow(client, response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def create(client, **fields) -> EvalSession:
    data = {
        "title": "2025年度党风廉政建设责任制民主测评",
        "unit": "某县委",
        "meeting_date": "2025-12-20",
        "meeting_type": "report_evaluate",
        "rule_set": "",
        "questionnaire": "",
    }
    data.update(fields)
    data["csrf_token"] = token(client, "/sessions/new")
    response = client.post("/sessions/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    session_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return db.session.get(EvalSession, session_id)


def fill(client, session: EvalSession) -> None:
    """Add a team, a principal, a member and a group through the pages."""
    url = f"/sessions/{session.id}/subjects"
    for name, post, kind in (
        ("县委领导班子", "", "team"),
        ("张明", "县委书记", "principal"),
        ("李华", "县长", "member"),
    ):
        response = client.post(
            url, data={"csrf_token": token(client, url), "name": name, "post": post, "kind": kind}
        )
        assert response.status_code == 302
    url = f"/sessions/{session.id}/groups"
    response = client.post(
        url,
        data={
            "csrf_token": token(client, url),
            "name": "县级领导干部",
            "expected_count": "8",
            "colour": "#2471a3",
        },
    )
    assert response.status_code == 302


def test_an_organizer_sets_up_and_runs_a_session(app, client, logged_in):
    logged_in()
    session = create(client)
    assert session.state == SessionState.DRAFT
    assert session.rule_set_key == "langfang-2014"
    html = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "准备步骤" in html and "请先添加测评对象" in html

    fill(client, session)
    db.session.expire_all()
    assert [(s.name, s.kind) for s in session.subjects] == [
        ("县委领导班子", SubjectRole.TEAM),
        ("张明", SubjectRole.PRINCIPAL),
        ("李华", SubjectRole.MEMBER),
    ]
    assert [(g.name, g.expected_count, g.colour) for g in session.groups] == [
        ("县级领导干部", 8, "#2471a3")
    ]

    # Reorder with the arrow buttons (plain forms).
    url = f"/sessions/{session.id}/subjects"
    li = session.subjects[2]
    client.post(f"{url}/{li.id}/move", data={"csrf_token": token(client, url), "direction": "up"})
    db.session.expire_all()
    assert [s.name for s in session.subjects] == ["县委领导班子", "李华", "张明"]

    # Reword the questionnaire.
    url = f"/sessions/{session.id}/questionnaire"
    html = client.get(url).get_data(as_text=True)
    assert "党风廉政建设责任制民主测评表" in html
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token_from(html),
            "title": "某县民主测评表",
            "instructions": "请认真填写。",
            "item_1": "总体评价（综合）",
            "comment_per_subject": "y",
            "comment_max_length": "300",
        },
    )
    assert "已保存测评表" in follow(client, response)

    # Issue codes, download cards.
    url = f"/sessions/{session.id}/codes"
    group = session.groups[0]
    response = client.post(
        f"{url}/issue", data={"csrf_token": token(client, url), "group_id": group.id, "count": "8"}
    )
    assert "已为“县级领导干部”发放8个测评码" in follow(client, response)
    response = client.post(
        f"{url}/cards", data={"csrf_token": token(client, url), "group_id": group.id}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"%PDF-")

    # Open: the confirmation must be ticked.
    url = f"/sessions/{session.id}/open"
    html = client.get(url).get_data(as_text=True)
    assert "确认开始测评" in html
    response = client.post(url, data={"csrf_token": csrf_token_from(html)})
    assert response.status_code == 400
    assert "请勾选确认" in response.get_data(as_text=True)
    db.session.expire_all()
    assert session.state == SessionState.DRAFT
    response = client.post(url, data={"csrf_token": csrf_token_from(html), "confirm": "y"})
    assert "测评已开始" in follow(client, response)
    db.session.expire_all()
    assert session.state == SessionState.OPEN
    assert "某县民主测评表" in session.questionnaire

    # Close, likewise confirmed.
    url = f"/sessions/{session.id}/close"
    html = client.get(url).get_data(as_text=True)
    assert "目前已收回测评表" in html
    response = client.post(url, data={"csrf_token": csrf_token_from(html), "confirm": "y"})
    assert "测评已结束，共收回测评表0张" in follow(client, response)
    db.session.expire_all()
    assert session.state == SessionState.CLOSED

    # The audit page tells the story.
    html = client.get(f"/sessions/{session.id}/audit").get_data(as_text=True)
    for label in (
        "创建测评",
        "添加测评对象",
        "调整测评对象顺序",
        "添加参评人员类别",
        "修改测评表文字",
        "发放测评码",
        "下载测评码卡片",
        "开始测评",
        "结束测评",
    ):
        assert label in html, label
    assert "县级领导干部，8张卡片" in html
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", html)


@pytest.fixture
def open_session(app, client, logged_in):
    user = logged_in()
    session = create(client)
    fill(client, session)
    url = f"/sessions/{session.id}/open"
    follow(client, client.post(url, data={"csrf_token": token(client, url), "confirm": "y"}))
    db.session.expire_all()
    assert session.state == SessionState.OPEN
    return session, user


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        (
            "subjects",
            {"name": "王芳", "post": "", "kind": "member"},
            "测评已开始，不能再修改测评对象",
        ),
        (
            "groups",
            {"name": "党代表", "expected_count": "3", "colour": ""},
            "测评已开始，不能再修改参评人员类别",
        ),
        ("questionnaire/template", {"key": "shuze-shulian"}, "测评已开始，不能再修改测评表"),
        (
            "edit",
            {
                "title": "新名称",
                "meeting_type": "report_evaluate",
                "rule_set": "",
                "questionnaire": "",
            },
            "测评已开始，不能再修改测评信息",
        ),
    ],
)
def test_changes_after_opening_are_refused_with_a_message(
    app, client, open_session, path, data, message
):
    session, _user = open_session
    before = (session.title, len(session.subjects), len(session.groups), session.questionnaire)
    data = {**data, "csrf_token": token(client, f"/sessions/{session.id}/subjects")}
    response = client.post(f"/sessions/{session.id}/{path}", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert (
        session.title,
        len(session.subjects),
        len(session.groups),
        session.questionnaire,
    ) == before


def test_subject_and_group_actions_after_opening_are_refused(app, client, open_session):
    session, _user = open_session
    csrf = token(client, f"/sessions/{session.id}/subjects")
    subject, group = session.subjects[1], session.groups[0]
    for url in (
        f"subjects/{subject.id}/delete",
        f"subjects/{subject.id}/report/delete",
        f"groups/{group.id}/delete",
    ):
        response = client.post(f"/sessions/{session.id}/{url}", data={"csrf_token": csrf})
        assert response.status_code == 400, url
    response = client.post(
        f"/sessions/{session.id}/subjects/{subject.id}/move",
        data={"csrf_token": csrf, "direction": "down"},
    )
    assert response.status_code == 400
    response = client.post(
        f"/sessions/{session.id}/subjects/{subject.id}/report",
        data={"csrf_token": csrf, "text": "报告"},
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert len(session.subjects) == 3 and len(session.groups) == 1
    assert session.subjects[1].report_text is None
    # Extra codes may still be issued while open.
    url = f"/sessions/{session.id}/codes"
    response = client.post(
        f"{url}/issue", data={"csrf_token": csrf, "group_id": group.id, "count": "2"}
    )
    assert response.status_code == 302


def test_bad_input_is_a_4xx_with_a_chinese_message(app, client, logged_in):
    logged_in()
    session = create(client)
    csrf = token(client, "/sessions/new")
    cases = [
        ("/sessions/new", {"title": "", "meeting_type": "report_evaluate"}, "请填写测评名称"),
        ("/sessions/new", {"title": "x", "meeting_type": "nope"}, "不是有效的选择"),
        (
            f"/sessions/{session.id}/groups",
            {"name": "类别", "expected_count": "-3"},
            "应到人数应为0到10000",
        ),
        (
            f"/sessions/{session.id}/groups",
            {"name": "类别", "expected_count": "abc"},
            "不是有效的整数",
        ),
        (
            f"/sessions/{session.id}/groups",
            {"name": "类别", "expected_count": "3", "colour": "#zzzzzz"},
            "#RRGGBB",
        ),
        (f"/sessions/{session.id}/subjects", {"name": "张", "kind": "king"}, "不是有效的选择"),
        (
            f"/sessions/{session.id}/codes/issue",
            {"group_id": "999999", "count": "3"},
            "参评人员类别不存在",
        ),
        (
            f"/sessions/{session.id}/codes/issue",
            {"group_id": "x", "count": "3"},
            "参评人员类别不存在",
        ),
        (
            f"/sessions/{session.id}/codes/void",
            {"codes": "ABCDE-FGHJK", "confirm": "y"},
            "不是本测评中未使用的测评码",
        ),
        (f"/sessions/{session.id}/codes/void", {"codes": "ABCDE-FGHJK"}, "请勾选确认"),
        (f"/sessions/{session.id}/codes/cards", {}, "没有可打印的未使用测评码"),
        (f"/sessions/{session.id}/close", {"confirm": "y"}, "只有进行中的测评可以结束"),
        (f"/sessions/{session.id}/open", {"confirm": "y"}, "请先添加测评对象"),
        (f"/sessions/{session.id}/subjects/import", {}, "请选择名单文件"),
    ]
    for url, data, message in cases:
        response = client.post(url, data={**data, "csrf_token": csrf})
        assert 400 <= response.status_code < 500, (url, data, response.status_code)
        assert message in response.get_data(as_text=True), (url, data)
    # A missing CSRF token is refused too.
    assert client.post(f"/sessions/{session.id}/groups", data={"name": "x"}).status_code == 400


def test_other_peoples_sessions_are_invisible(app, client, logged_in, make_user):
    owner = make_user()
    session = sessions_service.create_session(owner, SessionInput(title="别人的测评"))
    logged_in(Role.ORGANIZER)
    for path in (
        "",
        "/subjects",
        "/groups",
        "/questionnaire",
        "/codes",
        "/audit",
        "/open",
        "/close",
        "/copy",
        "/edit",
        "/screen",
        "/screen/progress",
    ):
        assert client.get(f"/sessions/{session.id}{path}").status_code == 404, path
    csrf = token(client, "/sessions/new")
    response = client.post(
        f"/sessions/{session.id}/subjects", data={"csrf_token": csrf, "name": "x", "kind": "member"}
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert session.subjects == []


def test_assessors_may_look_but_not_organize(app, client, logged_in, make_user):
    owner = make_user()
    session = sessions_service.create_session(owner, SessionInput(title="别人的测评"))
    assessor = logged_in(Role.ASSESSOR)
    assert client.get(f"/sessions/{session.id}").status_code == 404
    db.session.add(
        SessionGrant(session_id=session.id, user_id=assessor.id, level=GrantLevel.ASSESS)
    )
    db.session.commit()
    page = client.get(f"/sessions/{session.id}")
    assert page.status_code == 200 and "准备步骤" not in page.get_data(as_text=True)
    assert client.get(f"/sessions/{session.id}/screen").status_code == 200
    for path in ("/subjects", "/codes", "/audit", "/open", "/copy"):
        assert client.get(f"/sessions/{session.id}{path}").status_code == 403, path
    assert client.get("/sessions/new").status_code == 403


def test_reports_upload_as_text_or_pdf_and_are_served_while_open(app, client, logged_in):
    logged_in()
    session = create(client, meeting_type="shuze_shulian")
    url = f"/sessions/{session.id}/subjects"
    for name, kind in (("张明", "principal"), ("李华", "member")):
        client.post(url, data={"csrf_token": token(client, url), "name": name, "kind": kind})
    url_g = f"/sessions/{session.id}/groups"
    client.post(
        url_g,
        data={"csrf_token": token(client, url_g), "name": "全委会委员", "expected_count": "5"},
    )
    db.session.expire_all()
    zhang, li = session.subjects
    report_url = f"/sessions/{session.id}/subjects/{zhang.id}/report"
    response = client.post(
        report_url,
        data={
            "csrf_token": token(client, report_url),
            "text": "一、履行主体责任情况\n<script>alert(1)</script>",
        },
    )
    assert response.status_code == 302
    pdf = b"%PDF-1.4\n% fake but well-formed enough for a browser to try\n%%EOF\n"
    report_url = f"/sessions/{session.id}/subjects/{li.id}/report"
    response = client.post(
        report_url,
        data={
            "csrf_token": token(client, report_url),
            "text": "",
            "file": (io.BytesIO(pdf), "述职报告.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    response = client.post(
        report_url,
        data={
            "csrf_token": token(client, report_url),
            "file": (io.BytesIO(b"MZ\x90\x00"), "x.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "不是PDF文件" in response.get_data(as_text=True)
    db.session.expire_all()
    assert zhang.report_text.startswith("一、履行主体责任情况") and li.report_pdf == pdf

    # Not public before the session opens.
    from survey.security import report_token

    def report_url(subject):
        key = app.config["BALLOT_CODE_KEY"]
        return f"/v/report/{subject.id}/{report_token(key, session.id, subject.id)}"

    assert client.get(report_url(zhang)).status_code == 404
    url = f"/sessions/{session.id}/open"
    follow(client, client.post(url, data={"csrf_token": token(client, url), "confirm": "y"}))
    client.post("/logout", data={"csrf_token": token(client, "/sessions")})
    # Only behind the keyed address a ballot page shows: counting subject ids finds nothing.
    assert client.get(f"/v/report/{zhang.id}").status_code == 404
    assert client.get(f"/v/report/{zhang.id}/{'0' * 32}").status_code == 404
    text = client.get(report_url(zhang))
    assert text.status_code == 200
    assert text.headers["Cache-Control"] == "no-store"
    body = text.get_data(as_text=True)
    assert "一、履行主体责任情况" in body and "<script>alert(1)</script>" not in body
    served = client.get(report_url(li))
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["Content-Disposition"].startswith("inline")
    assert served.headers["Cache-Control"] == "no-store"
    assert served.data == pdf


def test_the_session_list_links_to_each_session(app, client, logged_in):
    logged_in()
    session = create(client)
    html = client.get("/sessions").get_data(as_text=True)
    assert f'href="/sessions/{session.id}"' in html and "新建测评" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BallotCode)) == 0
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["create_session"]
