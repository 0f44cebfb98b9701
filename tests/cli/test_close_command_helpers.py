"""`survey close` as a real process, opening the sealed ballots in helper processes.

A close of 10,000 ballots or more hands the boxes to `python -m survey.boxes` helpers
(survey/boxes.py). Here the threshold comes down to 1 in the instance's config.py, as an
operator may set it, so that four ballots voted over HTTP take that path from the installed
`survey` command (tests/reliability/test_two_servers.py takes it under gunicorn).
"""

import json

from tests.processes import (
    SURVEY,
    command_env,
    free_port,
    serving,
    suite_database,
    survey,
    vote,
)


def test_survey_close_opens_the_ballots_in_helper_processes(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("CLOSE_WORKERS_FROM = 1\nCLOSE_WORKERS = 2\n")
    port = free_port()
    with suite_database(instance) as url:
        env = command_env(instance, port, url)
        upgraded = survey(env, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        demo = json.loads(survey(env, "demo", "--json", "--codes", "5").stdout)
        run = [SURVEY, "run", "--host", "127.0.0.1"]
        with serving(run, env, port, tmp_path / "run.log") as server:
            server.wait_serving()
            for row in demo["codes"][:4]:
                assert "提交成功" in vote(demo["base_url"], row["vote_url"])

        closed = survey(env, "close", str(demo["session_id"]))
        assert closed.returncode == 0, closed.stderr
        assert "共收回测评表 4 张" in closed.stdout
        # Had a helper failed, the close would have opened the boxes itself and said so.
        assert "helper processes failed" not in closed.stderr, closed.stderr
        assert not list((instance / "session_keys").glob("*.key"))  # the key is destroyed
