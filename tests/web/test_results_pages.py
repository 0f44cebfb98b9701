"""The results page, downloads, team parts, the archive export and its verification."""

import io
import json

import pytest

from survey.extensions import db
from survey.models import EvalSession, GrantLevel, Role, SessionGrant
from survey.services.sessions import close_session
from tests.conftest import csrf_token_from, login
from tests.vote.conftest import ballot_form, rating_fields

WECHAT = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile MicroMessenger/8.0.47 NetType/WIFI"


def cast(client, codes, option="good"):
    for code in codes:
        fields, page = ballot_form(client, code)
        answers = {name: option for name in rating_fields(page)}
        assert client.post("/v/submit", data={**fields, **answers}).status_code == 303


@pytest.fixture
def closed(app, client, open_session):
    cast(client, open_session.codes[:8], "good")
    cast(client, open_session.codes[30:36], "average")
    close_session(open_session.session, None)
    assert login(client, open_session.organizer, open_session.password).status_code == 302
    return open_session.session


def test_results_page_shows_tally_rates_and_seal(client, closed):
    page = client.get(f"/sessions/{closed.id}/results")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "收回测评表 14 张" in html
    assert "57.14%（8/14）" in html  # 8 good of 14 valid
    assert "扣 8 分" in html and "0 分" in html
    assert closed.seal in html


def test_results_are_refused_while_open(client, open_session):
    login(client, open_session.organizer, open_session.password)
    response = client.get(f"/sessions/{open_session.session.id}/results")
    assert response.status_code == 400
    assert "测评结束后才能查看" in response.get_data(as_text=True)


def sign_off(client, session_id: int, **form) -> str:
    """Sign off as the logged-in user through the results page's form; return the page."""
    page = client.get(f"/sessions/{session_id}/results").get_data(as_text=True)
    assert "考核组签发结果" in page
    token = csrf_token_from(page)
    response = client.post(
        f"/sessions/{session_id}/results/sign-off", data={"csrf_token": token, **form}
    )
    assert response.status_code == 302
    return client.get(f"/sessions/{session_id}/results").get_data(as_text=True)


def test_sign_off_needs_team_parts_or_waiver_then_locks_them(client, closed):
    page = sign_off(client, closed.id)
    assert "请先录入领导班子其他考核部分得分" in page
    db.session.refresh(closed)
    assert closed.result_seal is None
    page = sign_off(client, closed.id, waive_parts="1")
    db.session.refresh(closed)
    assert closed.result_seal and closed.result_seal in page
    assert closed.team_parts_waived and closed.signed_off_at is not None
    assert "考核组签发结果" not in page  # signed once, never again
    token = csrf_token_from(page)
    again = client.post(f"/sessions/{closed.id}/results/sign-off", data={"csrf_token": token})
    assert again.status_code == 302
    db.session.refresh(closed)
    from survey.models import AuditEntry

    actions = [e.action for e in db.session.query(AuditEntry).filter_by(session_id=closed.id)]
    assert actions.count("sign_off") == 1


def test_json_export_verifies_and_detects_tampering(app, client, closed, runner, tmp_path):
    sign_off(client, closed.id, waive_parts="1")
    response = client.get(f"/sessions/{closed.id}/results/download/json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    archive = json.loads(response.get_data())
    assert archive["seal"] == closed.seal
    keys = {
        "subject",
        "category",
        "valid",
        "good_or_better",
        "rate",
        "points",
        "deduction",
        "personal",
        "final",
    }
    assert all(set(row) == keys for row in archive["results"])
    assert archive["results"][0]["rate"] == "8/14"

    good = tmp_path / "archive.json"
    good.write_bytes(response.get_data())
    result = runner.invoke(args=["verify", str(good)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "通过" and "全部数字与归档一致" in result.output

    archive["sealed"]["ballots"][0]["ratings"][0][2] = "poor"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(archive, ensure_ascii=False))
    result = runner.invoke(args=["verify", str(bad)])
    assert result.exit_code == 1 and result.output.startswith("未通过")
    assert "结束封存码不符" in result.output

    forged = json.loads(good.read_text())
    forged["results"][0]["points"] = "20"
    (tmp_path / "forged.json").write_text(json.dumps(forged, ensure_ascii=False))
    result = runner.invoke(args=["verify", str(tmp_path / "forged.json")])
    assert result.exit_code == 1 and "不一致" in result.output


def test_verify_upload_page(client, closed):
    sign_off(client, closed.id, waive_parts="1")
    archive = client.get(f"/sessions/{closed.id}/results/download/json").get_data()
    token = csrf_token_from(client.get("/verify").get_data(as_text=True))
    ok = client.post(
        "/verify",
        data={"csrf_token": token, "archive": (io.BytesIO(archive), "archive.json")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 200 and "校验结论：通过" in ok.get_data(as_text=True)
    junk = client.post(
        "/verify",
        data={"csrf_token": token, "archive": (io.BytesIO(b"\xff\xfe junk"), "x.json")},
        content_type="multipart/form-data",
    )
    assert junk.status_code == 422 and "文件不是测评归档" in junk.get_data(as_text=True)
    assert "校验结论：未通过" in junk.get_data(as_text=True)


def test_export_command_writes_json_with_score_keys(runner, closed, tmp_path):
    out = tmp_path / "out.json"
    result = runner.invoke(args=["export", str(closed.id), "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["seal"] == closed.seal and len(data["results"]) == 6
    missing = runner.invoke(args=["export", "999999", "--out", str(out)])
    assert missing.exit_code != 0 and "不存在" in missing.output


def test_export_of_an_open_session_is_refused(runner, open_session, tmp_path):
    result = runner.invoke(
        args=["export", str(open_session.session.id), "--out", str(tmp_path / "x.json")]
    )
    assert result.exit_code != 0 and "测评结束后" in result.output


def test_assessor_enters_team_parts_and_finals_appear(app, closed, make_user):
    assessor = make_user(role=Role.ASSESSOR)
    db.session.add(SessionGrant(session_id=closed.id, user_id=assessor.id, level=GrantLevel.ASSESS))
    db.session.commit()
    client = app.test_client()
    login(client, assessor.username)
    page = client.get(f"/sessions/{closed.id}/results").get_data(as_text=True)
    token = csrf_token_from(page)
    form = {
        "csrf_token": token,
        "conduct": "15",
        "punishment": "30",
        "prevention": "20",
        "responsibility": "16",
    }
    response = client.post(
        f"/sessions/{closed.id}/results/team-parts", data=form, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "超过满分已按满分计：党风廉政建设责任制落实情况" in html
    assert "领导班子总分 80 分，折合十分制 8 分" in html  # 0 + 15 + 30 + 20 + 15

    bad = client.post(
        f"/sessions/{closed.id}/results/team-parts",
        data={**form, "conduct": "十五"},
        follow_redirects=True,
    )
    assert "不是有效的数字" in bad.get_data(as_text=True)


def test_organizer_cannot_enter_team_parts(client, closed):
    token = csrf_token_from(client.get(f"/sessions/{closed.id}/results").get_data(as_text=True))
    response = client.post(
        f"/sessions/{closed.id}/results/team-parts", data={"csrf_token": token, "conduct": "1"}
    )
    assert response.status_code == 403


def test_wechat_gets_a_hint_to_open_in_the_browser(client, closed):
    html = client.get(f"/sessions/{closed.id}/results", headers={"User-Agent": WECHAT})
    assert "在浏览器打开" in html.get_data(as_text=True)
    plain = client.get(f"/sessions/{closed.id}/results").get_data(as_text=True)
    assert "在浏览器打开" not in plain


def test_person_history_across_sessions(client, closed):
    name = closed.subjects[1].name
    html = client.get(f"/people?name={name}").get_data(as_text=True)
    assert closed.title in html and "扣 8 分" in html
    assert "没有找到" in client.get("/people?name=不存在的人").get_data(as_text=True)


def test_other_organizers_cannot_see_results(app, closed, make_user):
    other = make_user(role=Role.ORGANIZER)
    client = app.test_client()
    login(client, other.username)
    assert client.get(f"/sessions/{closed.id}/results").status_code == 404
    assert client.get(f"/sessions/{closed.id}/results/download/json").status_code == 404
    assert db.session.get(EvalSession, closed.id) is not None


def test_screen_shows_results_after_close_only_when_asked(client, closed):
    plain = client.get(f"/sessions/{closed.id}/screen").get_data(as_text=True)
    assert "较好以上率" not in plain and "在投屏上公布测评结果" in plain
    shown = client.get(f"/sessions/{closed.id}/screen?show=results").get_data(as_text=True)
    assert "57.14%（8/14）" in shown


def test_screen_never_shows_results_while_open(client, open_session):
    login(client, open_session.organizer, open_session.password)
    cast(client, open_session.codes[:3])
    html = client.get(f"/sessions/{open_session.session.id}/screen?show=results")
    assert "较好以上率" not in html.get_data(as_text=True)
