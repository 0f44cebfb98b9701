"""The README's commands, run as a newcomer runs them: real processes, used over HTTP.

`scripts/start-demo` and `survey run` serve with the production locking (BEGIN IMMEDIATE on
SQLite) and CSRF: these tests are what keeps "the start command cannot record a vote" from
coming back.
"""

import json
import re
import zipfile

from tests.processes import (
    SURVEY,
    Browser,
    command_env,
    free_port,
    log_in,
    serving,
    suite_database,
    survey,
    vote,
)

BANNER_END = "按 Ctrl-C 停止服务器。"


def banner(output: str) -> dict:
    """What the newcomer reads in the block start-demo ends with."""
    block = output[output.rindex("民主测评平台已启动") :]
    organizer = re.search(r"用户名 (\S+)\s+密码 (\S+)", block)
    admin = re.search(r"系统管理员（密码只显示这一次）：用户名 (\S+)\s+密码 (\S+)", block)
    return {
        "organizer": organizer.groups(),
        "admin": admin.groups() if admin else None,
        "vote_urls": re.findall(r"\] (http://\S+/v/\S+)", block),
    }


def test_start_demo_votes_logs_in_and_survives_a_restart(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    port = free_port()
    env = command_env(instance, port)
    base = f"http://127.0.0.1:{port}"

    with serving(["bash", "scripts/start-demo"], env, port, tmp_path / "demo.log") as demo:
        output = demo.wait_for(BANNER_END)
        shown = banner(output)
        # The block is the last thing printed before the voters' requests.
        assert output.rstrip().endswith("=" * 64)
        assert "development server" not in output
        assert len(shown["vote_urls"]) == 3
        assert shown["admin"] is not None, "the first run shows the first admin's password"

        for url in shown["vote_urls"]:
            assert "提交成功" in vote(base, url)
        # A code used once cannot vote again.
        phone = Browser(base)
        status, _, page = phone.get(shown["vote_urls"][0])
        assert "已使用" in page or "已提交" in page, page[:300]

        organizer = log_in(base, *shown["organizer"])
        status, _, sessions = organizer.get("/sessions")
        assert status == 200 and "演示" in sessions

        # `survey demo` while the server runs: a second demo session, its codes vote at once.
        second = survey(env, "demo", "--json", "--codes", "3")
        assert second.returncode == 0, second.stderr
        payload = json.loads(second.stdout)
        assert payload["first_admin"] is None
        assert "提交成功" in vote(base, payload["codes"][0]["vote_url"], choice=2)

    # Stopped; `survey run` again on the same database, as after a reboot.
    with serving([SURVEY, "run", "--host", "127.0.0.1"], env, port, tmp_path / "run.log") as run:
        run.wait_serving()
        assert "提交成功" in vote(base, payload["codes"][1]["vote_url"])
        log_in(base, payload["organizer"]["username"], payload["organizer"]["password"])
        admin = log_in(base, *shown["admin"])
        status, _, _ = admin.get("/admin/rulesets")
        assert status == 200
        progress = json.loads(
            log_in(base, payload["organizer"]["username"], payload["organizer"]["password"]).get(
                f"/sessions/{payload['session_id']}/screen/progress"
            )[2]
        )
        assert progress["submitted"] == 2
    assert "ABCDE" not in run.output() and "/v/[code]" in run.output()
    assert "development server" not in run.output()
    assert "database is locked" not in run.output() + demo.output()


def test_survey_run_restart_close_export_verify_backup_on_the_suite_engine(tmp_path):
    """`survey run` twice on one database (SQLite, or PostgreSQL in the PostgreSQL run), then
    the after-the-meeting commands of the README, each as its own process."""
    instance = tmp_path / "instance"
    instance.mkdir()
    port = free_port()
    with suite_database(instance) as url:
        env = command_env(instance, port, url)
        upgraded = survey(env, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        created = survey(
            env,
            "create-user",
            "kaohe",
            "--role",
            "assessor",
            "--name",
            "考核组",
            "--password",
            "kaohe-secret-1",
        )
        assert created.returncode == 0 and "已创建用户 kaohe" in created.stdout, created.stderr
        demo = json.loads(survey(env, "demo", "--json", "--codes", "5").stdout)
        base = demo["base_url"]

        for attempt in range(2):
            log = tmp_path / f"run-{attempt}.log"
            with serving([SURVEY, "run", "--host", "127.0.0.1"], env, port, log) as server:
                server.wait_serving()
                for row in demo["codes"][attempt * 3 : attempt * 3 + 3]:
                    assert "提交成功" in vote(base, row["vote_url"])
                log_in(base, "kaohe", "kaohe-secret-1")
                organizer = log_in(
                    base, demo["organizer"]["username"], demo["organizer"]["password"]
                )
                assert organizer.get(f"/sessions/{demo['session_id']}")[0] == 200
                assert "Traceback" not in server.output(), server.output()[-3000:]

        closed = survey(env, "close", str(demo["session_id"]))
        assert closed.returncode == 0, closed.stderr
        assert "共收回测评表 6 张" in closed.stdout

        archive = tmp_path / "archive.zip"
        exported = survey(
            env, "export", str(demo["session_id"]), "--format", "zip", "--out", str(archive)
        )
        assert exported.returncode == 0, exported.stderr
        with zipfile.ZipFile(archive) as bundle:
            assert "archive.json" in bundle.namelist()
        verified = survey(env, "verify", str(archive))
        assert verified.returncode == 0, verified.stdout + verified.stderr

        backup = tmp_path / "backup.db"
        assert survey(env, "backup", str(backup)).returncode == 0
        assert backup.stat().st_size > 0
        restored = survey(env, "restore", str(backup), "--yes")
        assert restored.returncode == 0, restored.stderr

        sheet = tmp_path / "计票.csv"
        sheet.write_text("测评对象,类别,好,较好,一般,差\n领导班子,领导班子,150,39,8,2\n", "utf-8")
        scored = survey(env, "score", str(sheet), "--json")
        assert scored.returncode == 0, scored.stderr
        assert json.loads(scored.stdout)[0]["rate"] == "189/199"
