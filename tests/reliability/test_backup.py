"""`survey backup` and `survey restore` bring the database back as it was, on either engine."""

import pytest
import sqlalchemy as sa

from survey.cli.backup import OPS_COMMANDS, backup_command, restore_command
from survey.extensions import db
from survey.models import Ballot, BallotCode, CodeStatus, EvalSession, Subject
from survey.services.backup import pg_tool
from survey.services.demo import create_demo
from tests.conftest import requirement_missing
from tests.vote.conftest import ballot_form, count_ballots, full_answers


@pytest.fixture
def tools(engine_name):
    if engine_name == "postgresql":
        try:
            pg_tool("pg_dump"), pg_tool("pg_restore")
        except Exception:  # noqa: BLE001 (any failure to find them is the same message)
            requirement_missing("pg_dump / pg_restore are not installed")
    return engine_name


def vote(client, code: str) -> None:
    fields, page = ballot_form(client, code)
    assert client.post("/v/submit", data={**fields, **full_answers(page)}).status_code == 303


def snapshot() -> dict:
    db.session.rollback()
    return {
        "sessions": sorted(db.session.scalars(sa.select(EvalSession.title))),
        "subjects": db.session.scalar(sa.select(sa.func.count()).select_from(Subject)),
        "ballots": db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)),
        "used": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(BallotCode)
            .where(BallotCode.status == CodeStatus.USED)
        ),
    }


def test_backup_change_restore_round_trip(app, client, runner, tools, tmp_path):
    demo = create_demo(codes_per_group=5)
    db.session.commit()  # what the `survey demo` command's end does
    codes = [code for group in demo.codes.values() for code in group]
    vote(client, codes[0])
    vote(client, codes[1])
    before = snapshot()
    path = tmp_path / "survey.backup"

    db.session.remove()  # the test's own connection must not hold locks the commands need
    done = runner.invoke(backup_command, [str(path)])
    assert done.exit_code == 0, done.output
    assert "已备份" in done.output and path.stat().st_size > 0
    assert path.stat().st_mode & 0o077 == 0  # owner-only

    # After the backup: more votes, a renamed session, a deleted subject, a new session.
    vote(client, codes[2])
    session = db.session.get(EvalSession, demo.session_id)
    session.title = "改过的标题"
    db.session.delete(session.subjects[-1])
    db.session.commit()
    create_demo(codes_per_group=3)
    db.session.commit()  # what the `survey demo` command's end does
    assert snapshot() != before

    db.session.remove()
    done = runner.invoke(restore_command, [str(path), "--yes"])
    assert done.exit_code == 0, done.output
    assert snapshot() == before
    # The restored platform works: the third code is unused again and can vote.
    assert count_ballots(demo.session_id) == 2
    vote(client, codes[2])
    assert count_ballots(demo.session_id) == 3


def test_sqlite_backup_holds_no_code_in_clear(app, client, runner, tools, tmp_path):
    if tools != "sqlite":
        pytest.skip("pg_dump's custom format is compressed: nothing to grep")
    demo = create_demo(codes_per_group=5)
    db.session.commit()  # what the `survey demo` command's end does
    path = tmp_path / "survey.backup"
    db.session.remove()
    assert runner.invoke(backup_command, [str(path)]).exit_code == 0
    data = path.read_bytes()
    for codes in demo.codes.values():
        for code in codes:
            assert code.encode() not in data
    assert not (tmp_path / "survey.backup-wal").exists()


def test_restore_refuses_a_file_that_is_no_backup(app, runner, tools, tmp_path):
    create_demo(codes_per_group=2)
    db.session.commit()  # what the `survey demo` command's end does
    before = snapshot()
    junk = tmp_path / "notes.txt"
    junk.write_text("这不是备份")
    db.session.remove()
    done = runner.invoke(restore_command, [str(junk), "--yes"])
    assert done.exit_code == 1
    assert "不是" in done.output and "Traceback" not in done.output
    assert snapshot() == before


def test_restore_asks_before_replacing_everything(app, runner, tools, tmp_path):
    path = tmp_path / "survey.backup"
    db.session.remove()
    assert runner.invoke(backup_command, [str(path)]).exit_code == 0
    done = runner.invoke(restore_command, [str(path)], input="n\n")
    assert done.exit_code == 1 and "确定吗" in done.output


def test_backup_into_a_missing_folder_is_a_clear_error(app, runner, tmp_path):
    done = runner.invoke(backup_command, [str(tmp_path / "nowhere" / "x.backup")])
    assert done.exit_code == 1 and "不存在" in done.output


def test_commands_are_exported_for_registration():
    assert {command.name for command in OPS_COMMANDS} == {"backup", "restore"}
