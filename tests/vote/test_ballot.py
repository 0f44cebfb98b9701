"""The phone ballot: entry, the form, exactly-once submission and refusals that store nothing."""

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    Ballot,
    BallotCode,
    CodeStatus,
    EvalSession,
    SealedBallot,
    SessionState,
)
from survey.security import code_hash
from tests.vote.conftest import (
    ballot_form,
    code_statuses,
    count_ballots,
    full_answers,
    rating_fields,
    sealed_contents,
)


def submit(client, fields, answers, **headers):
    return client.post("/v/submit", data={**fields, **answers}, headers=headers)


def code_row(app, code) -> BallotCode:
    db.session.rollback()
    key = app.config["BALLOT_CODE_KEY"]
    return db.session.scalar(
        sa.select(BallotCode).where(BallotCode.code_hash == code_hash(key, code))
    )


def test_scanned_code_opens_the_ballot_with_subjects_in_order(client, open_session):
    response = client.get(f"/v/{open_session.codes[0]}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    names = [s.name for s in open_session.session.subjects]
    positions = [page.index(name) for name in names]
    assert positions == sorted(positions)
    assert "党风廉政建设责任制民主测评表" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers
    assert len(rating_fields(page)) == 6


@pytest.mark.parametrize("typed", ["{c}", "{l}", " {s} ", "{c}".replace("-", "")])
def test_typed_code_forgives_case_spaces_and_dashes(client, open_session, typed):
    code = open_session.codes[0]
    variants = {
        "{c}": code,
        "{l}": code.lower(),
        " {s} ": " " + code.replace("-", " - ").lower() + " ",
    }
    entered = variants.get(typed, code.replace("-", ""))
    response = client.post("/v", data={"code": entered})
    assert response.status_code == 200
    assert 'name="r-' in response.get_data(as_text=True)


def test_code_entry_page_needs_no_cookie_or_token(client, open_session):
    page = client.get("/v")
    assert page.status_code == 200
    assert "请输入测评码" in page.get_data(as_text=True)
    assert "Set-Cookie" not in page.headers


def test_unknown_code_gets_a_clear_page(client, open_session):
    response = client.get("/v/ABCDE-FGHJK")
    assert response.status_code == 404
    assert "测评码无效" in response.get_data(as_text=True)
    assert client.post("/v", data={"code": "not a code"}).status_code == 404


def test_voided_code_gets_a_clear_page(app, client, open_session):
    row = code_row(app, open_session.codes[0])
    row.status = CodeStatus.VOID
    db.session.commit()
    response = client.get(f"/v/{open_session.codes[0]}")
    assert response.status_code == 410
    assert "已作废" in response.get_data(as_text=True)


def test_draft_and_closed_sessions_get_clear_pages(client, open_session):
    session = open_session.session
    session.state = SessionState.DRAFT
    db.session.commit()
    response = client.get(f"/v/{open_session.codes[0]}")
    assert response.status_code == 403 and "尚未开始" in response.get_data(as_text=True)
    session.state = SessionState.CLOSED
    db.session.commit()
    response = client.get(f"/v/{open_session.codes[0]}")
    assert response.status_code == 410 and "已结束" in response.get_data(as_text=True)


def test_a_full_ballot_is_stored_once_and_anonymously(app, client, open_session):
    code = open_session.codes[0]
    fields, page = ballot_form(client, code)
    answers = full_answers(page, "fairly_good")
    subject_id = open_session.session.subjects[1].id
    answers[f"c-{subject_id}"] = "希望多下基层"
    response = submit(client, fields, answers)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/v/done")
    assert "Set-Cookie" not in response.headers

    done = client.get("/v/done")
    assert "提交成功" in done.get_data(as_text=True)
    assert count_ballots(open_session.session.id) == 1
    assert code_row(app, code).status == CodeStatus.USED
    # Only ciphertext is stored while open; the session's key opens it.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0
    (stored,) = sealed_contents(open_session.session.id)
    assert set(stored.ratings.values()) == {"fairly_good"} and len(stored.ratings) == 6
    assert stored.comments == {subject_id: "希望多下基层"} and stored.paper is False
    # The used code cannot open the ballot again.
    again = client.get(f"/v/{code}")
    assert again.status_code == 409 and "已使用" in again.get_data(as_text=True)


def test_repeating_the_same_submission_shows_the_receipt_again(client, open_session):
    fields, page = ballot_form(client, open_session.codes[0])
    answers = full_answers(page)
    assert submit(client, fields, answers).status_code == 303
    repeat = submit(client, fields, answers)
    assert repeat.status_code == 303 and repeat.headers["Location"].endswith("/v/done")
    assert count_ballots(open_session.session.id) == 1


def test_a_second_form_for_a_used_code_is_refused(client, open_session):
    code = open_session.codes[0]
    first_fields, page = ballot_form(client, code)
    second_fields, _ = ballot_form(client, code)  # opened on another phone before the first vote
    assert submit(client, first_fields, full_answers(page)).status_code == 303
    response = submit(client, second_fields, full_answers(page, "poor"))
    assert response.status_code == 409
    assert count_ballots(open_session.session.id) == 1


def test_empty_ballot_is_refused_and_the_code_stays_usable(app, client, open_session):
    code = open_session.codes[0]
    fields, _ = ballot_form(client, code)
    response = submit(client, fields, {})
    assert response.status_code == 400
    assert "不能提交空表" in response.get_data(as_text=True)
    assert count_ballots(open_session.session.id) == 0
    assert code_row(app, code).status == CodeStatus.UNUSED


def test_partial_ballot_asks_for_confirmation_and_keeps_the_answers(client, open_session):
    fields, page = ballot_form(client, open_session.codes[0])
    names = rating_fields(page)
    answers = {names[0]: "good", names[2]: "average"}
    warned = submit(client, fields, answers)
    assert warned.status_code == 200
    html = warned.get_data(as_text=True)
    assert "还有 4 项未评价" in html
    assert f'name="{names[2]}" value="average" checked' in html
    assert count_ballots(open_session.session.id) == 0

    confirmed = submit(client, {**fields, "confirm_partial": "1"}, answers)
    assert confirmed.status_code == 303
    assert count_ballots(open_session.session.id) == 1
    (stored,) = sealed_contents(open_session.session.id)
    assert len(stored.ratings) == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a, s: a.update({next(iter(a)): "excellent"}), "无法识别的评价等次"),
        (lambda a, s: a.update({"unexpected": "1"}), "无法识别的内容"),
        (lambda a, s: a.update({"r-999999-overall": "good"}), "无法识别的项目"),
        (lambda a, s: a.update({f"r-{s}-overall": "good"}), "无法识别的项目"),
        (lambda a, s: a.update({"c-overall": "很" * 501}), "不超过500字"),
        (lambda a, s: a.update({"r-abc-overall": "good"}), "无法识别的项目"),
    ],
    ids=["unknown-option", "extra-field", "unknown-subject", "other-session", "long", "junk"],
)
def test_malformed_ballots_get_a_message_and_store_nothing(
    app, client, open_session, make_user, mutate, message
):
    other = EvalSession(
        title="另一个测评", owner=make_user(), rule_set_key="x", rule_set_version="1"
    )
    from survey.models import Subject, SubjectRole

    other.subjects = [Subject(name="别人", kind=SubjectRole.TEAM, position=0)]
    db.session.add(other)
    db.session.commit()
    code = open_session.codes[0]
    fields, page = ballot_form(client, code)
    answers = full_answers(page)
    mutate(answers, other.subjects[0].id)
    response = submit(client, fields, answers)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count_ballots(open_session.session.id) == 0
    assert code_row(app, code).status == CodeStatus.UNUSED


def test_missing_code_or_token_is_refused(client, open_session):
    fields, page = ballot_form(client, open_session.codes[0])
    answers = full_answers(page)
    assert submit(client, {"code": fields["code"]}, answers).status_code == 400
    assert submit(client, {"token": fields["token"]}, answers).status_code == 400
    assert count_ballots(open_session.session.id) == 0


def test_ballot_posted_from_another_site_is_refused(client, open_session):
    fields, page = ballot_form(client, open_session.codes[0])
    response = submit(client, fields, full_answers(page), Origin="https://evil.example")
    assert response.status_code == 403
    assert count_ballots(open_session.session.id) == 0
    ok = submit(client, fields, full_answers(page), Origin="http://localhost")
    assert ok.status_code == 303


def test_oversized_post_is_refused(client, open_session):
    fields, _ = ballot_form(client, open_session.codes[0])
    response = submit(client, fields, {"c-overall": "x" * 300_000})
    assert response.status_code == 413
    assert count_ballots(open_session.session.id) == 0


def test_ballot_page_is_small(client, open_session):
    response = client.get(f"/v/{open_session.codes[0]}", headers={"Accept-Encoding": "gzip"})
    css = client.get("/static/vote.css", headers={"Accept-Encoding": "gzip"})
    script = client.get("/static/ballot.js", headers={"Accept-Encoding": "gzip"})
    total = sum(len(r.get_data()) for r in (response, css, script))
    assert response.headers.get("Content-Encoding") == "gzip"
    assert total < 30 * 1024
    html = response.get_data()
    import gzip

    text = gzip.decompress(html).decode()
    assert "http://" not in text.replace("http://localhost", "")
    assert "https://" not in text


def test_code_is_redacted_from_access_logs(open_session):
    from survey.web.redaction import redact

    line = f'127.0.0.1 - - "GET /v/{open_session.codes[0]} HTTP/1.1" 200 -'
    assert open_session.codes[0] not in redact(line)
    assert "/v/[code]" in redact(line)


def test_ballots_are_counted_per_session_only(client, open_session):
    fields, page = ballot_form(client, open_session.codes[0])
    submit(client, fields, full_answers(page))
    assert code_statuses(open_session.session.id)[CodeStatus.USED] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0


def test_gunicorn_access_log_hides_codes(open_session):
    from types import SimpleNamespace

    from gunicorn.config import Config

    from survey.web.redaction import GunicornLogger

    code = open_session.codes[0]
    logger = GunicornLogger(Config())
    request = SimpleNamespace(
        method="GET", path=f"/v/{code}", query="", version=(1, 1), headers=[], uri=f"/v/{code}"
    )
    environ = {
        "RAW_URI": f"/v/{code}",
        "REQUEST_METHOD": "GET",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": f"/v/{code}",
        "QUERY_STRING": "",
        "REMOTE_ADDR": "10.0.0.8",
    }
    response = SimpleNamespace(status="200 OK", sent=100, headers=[], response_length=100)
    from datetime import timedelta

    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    logged = " ".join(str(v) for v in atoms.values())
    assert code not in logged and code.replace("-", "") not in logged
    assert "/v/[code]" in atoms["r"]


def test_gunicorn_error_log_names_no_client_address(open_session):
    """gunicorn reports a mangled request line with the client's address: both are removed."""
    import logging

    from gunicorn.config import Config

    from survey.web.redaction import GunicornLogger

    code = open_session.codes[0]
    logger = GunicornLogger(Config())
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger.error_log.addHandler(Keep())
    for address in ("10.20.30.40", "2001:db8::7", "::1"):
        # The very format of gunicorn's handle_error (gunicorn/workers/base.py).
        logger.warning(
            "Invalid request from ip={ip}: {error}".format(
                ip=address, error=f"Invalid HTTP request line: 'GET /v/{code}\\x00 HTTP/1.1'"
            )
        )
    assert len(seen) == 3, seen
    for line, address in zip(seen, ("10.20.30.40", "2001:db8::7", "::1"), strict=True):
        assert address not in line, line
        assert code not in line, line
        assert line.startswith("Invalid request from ip=-: Invalid HTTP request line"), line


def lookup_and_parse(app, code: str):
    """What /v/submit does before cast(): the lookup and a fully answered submission."""
    from survey.services.ballots import parse_submission
    from survey.services.voting import form_for, look_up

    found = look_up(code)
    form = form_for(found)
    questionnaire = form.frozen_questionnaire()
    option = sorted(questionnaire.option_keys())[0]
    answers = {
        f"r-{subject.id}-{item.key}": option
        for subject in form.subjects
        for item in questionnaire.items_for(subject.kind)
    }
    submission = parse_submission(form, answers)
    db.session.rollback()
    return found, submission


@pytest.mark.parametrize("state", [SessionState.CLOSING, SessionState.CLOSED])
def test_a_cast_racing_the_close_is_refused_and_stores_nothing(app, open_session, state):
    """The page was read while open, the close came before the claim: the claim's own check."""
    from survey.services.ballots import CodeProblem, CodeRefused, cast

    session_id, code = open_session.session.id, open_session.codes[0]
    with app.test_request_context("/v/submit", method="POST"):
        found, submission = lookup_and_parse(app, code)
        db.session.execute(
            sa.update(EvalSession).where(EvalSession.id == session_id).values(state=state)
        )
        db.session.commit()
        with pytest.raises(CodeRefused) as refused:
            cast(found, "form-token", submission)
        assert refused.value.problem == CodeProblem.CLOSED
    assert CodeStatus.USED not in code_statuses(session_id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot)) == 0


def test_cast_twice_is_one_ballot_and_another_token_is_refused(app, open_session):
    from survey.services.ballots import CodeProblem, CodeRefused, cast

    session_id, code = open_session.session.id, open_session.codes[0]
    with app.test_request_context("/v/submit", method="POST"):
        found, submission = lookup_and_parse(app, code)
        cast(found, "form-token", submission)
        cast(found, "form-token", submission)  # the phone retried: the same receipt
        with pytest.raises(CodeRefused) as refused:
            cast(found, "another-form", submission)
        assert refused.value.problem == CodeProblem.USED
    assert code_statuses(session_id)[CodeStatus.USED] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot)) == 1


def test_no_key_is_made_for_a_session_that_is_no_longer_open(app, open_session):
    """A session opened before sealing gets its key on the first ballot, but never once the
    close began: the close may have destroyed the key already."""
    from survey.services.ballots import CodeRefused, ensure_public_key
    from survey.services.sealing import key_path

    session_id = open_session.session.id
    key_path(session_id).unlink(missing_ok=True)
    db.session.execute(
        sa.update(EvalSession)
        .where(EvalSession.id == session_id)
        .values(ballot_public_key=None, state=SessionState.CLOSING)
    )
    db.session.commit()
    with pytest.raises(CodeRefused):
        ensure_public_key(session_id)
    assert not key_path(session_id).exists()
    assert db.session.get(EvalSession, session_id).ballot_public_key is None
