"""The public command line: demo, create-user, first admin."""

import json
import re

import sqlalchemy as sa

from survey.extensions import db
from survey.models import BallotCode, CodeStatus, EvalSession, Role, SessionState, User
from survey.security import canonical_code, code_hash
from tests.conftest import login


def test_demo_json_prints_an_open_session_with_working_logins_and_codes(app, runner, client):
    result = runner.invoke(args=["demo", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)

    session = db.session.get(EvalSession, payload["session_id"])
    assert session.state == SessionState.OPEN
    assert len(session.subjects) == 6  # the team and five members
    assert [s.kind for s in session.subjects].count("team") == 1
    assert len(session.groups) == 2
    assert session.questionnaire_sha256

    base = "http://vote.example.test"
    assert payload["login_url"] == f"{base}/login"
    assert len(payload["codes"]) == 2 * app.config["DEMO_CODES_PER_GROUP"]
    key = app.config["BALLOT_CODE_KEY"]
    for row in payload["codes"]:
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}", row["code"])
        assert row["vote_url"] == f"{base}/v/{row['code']}"
        stored = db.session.scalar(
            sa.select(BallotCode).where(BallotCode.code_hash == code_hash(key, row["code"]))
        )
        assert stored is not None and stored.status == CodeStatus.UNUSED
        assert canonical_code(row["code"]) not in (stored.code_sealed or "")

    organizer = payload["organizer"]
    assert login(client, organizer["username"], organizer["password"]).status_code == 302
    assert session.title in client.get("/sessions").get_data(as_text=True)


def test_demo_text_output_lists_every_vote_address(runner):
    result = runner.invoke(args=["demo", "--codes", "3"])
    assert result.exit_code == 0, result.output
    assert "演示测评已创建并开始投票" in result.stdout
    assert len(re.findall(r"http://vote\.example\.test/v/\S+", result.stdout)) == 6


def test_second_demo_resets_the_demo_password(runner, client):
    first = json.loads(runner.invoke(args=["demo", "--json", "--codes", "1"]).stdout)
    second = json.loads(runner.invoke(args=["demo", "--json", "--codes", "1"]).stdout)
    assert second["session_id"] != first["session_id"]
    assert login(client, "demo", first["organizer"]["password"]).status_code == 401
    assert login(client, "demo", second["organizer"]["password"]).status_code == 302


def test_first_admin_is_created_once_and_its_password_printed_once(runner, client):
    first = runner.invoke(args=["demo", "--json", "--codes", "1"])
    match = re.search(r"用户名 admin  密码 (\S+)", first.stderr)
    assert match, first.stderr
    json.loads(first.stdout)  # the notice stays off stdout, which scripts parse
    again = runner.invoke(args=["demo", "--json", "--codes", "1"])
    assert "admin" not in again.stderr
    assert login(client, "admin", match.group(1)).status_code == 302


def test_create_user_command(runner, client):
    result = runner.invoke(
        args=["create-user", "kaohe", "--role", "assessor", "--password", "s3cret-enough"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.username == "kaohe"))
    assert user.role == Role.ASSESSOR
    assert user.password_hash.startswith("$argon2id$")
    assert login(client, "kaohe", "s3cret-enough").status_code == 302


def test_create_user_command_refuses_a_duplicate_with_a_message(runner):
    args = ["create-user", "dup", "--password", "long enough pw"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code != 0
    assert "已存在" in again.output


def test_score_is_part_of_the_survey_cli(runner, tmp_path):
    sheet = tmp_path / "计票.csv"
    sheet.write_text(
        "测评对象,类别,好,较好,一般,差\n领导班子,领导班子,150,39,8,2\n张明,主要负责人,160,30,5,4\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["score", str(sheet), "--json", "--team-other", "70"])
    assert result.exit_code == 0, result.output
    team, principal = json.loads(result.stdout)
    assert team["rate"] == "189/199" and team["points"] == "18" and team["final"] == "8.8"
    assert principal["deduction"] == "0" and principal["final"] == "9.4"
