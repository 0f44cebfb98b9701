"""Sign-off by the assessment team: the result seal over every printed figure, signed.

After the close (ballots sealed), the assessors enter the team's other parts, or declare them
not applicable, and sign off. From then on the figures are fixed: the result seal and its
signature are stored, team parts can no longer change, and every report prints the seal.
"""

import json
from datetime import UTC, datetime

from survey.domain.attest import (
    blank_ballots,
    close_statement,
    result_document,
    result_figures,
    result_seal_of,
    result_statement,
)
from survey.domain.evaluation import evaluate_sealed
from survey.domain.numbers import format_decimal
from survey.domain.roles import SubjectRole
from survey.domain.seal import seal_of
from survey.extensions import db
from survey.models import EvalSession, User
from survey.services import ServiceError
from survey.services.audit import record
from survey.services.results import (
    SessionResults,
    compute_results,
    require_closed,
    seal_document,
)
from survey.services.signing import public_pem, sign


def iso_utc(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC; SQLite hands back naive UTC, PostgreSQL aware."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def signoff_facts(session: EvalSession) -> dict:
    return {
        "closed_at": iso_utc(session.closed_at),
        "signed_off_at": iso_utc(session.signed_off_at),
        "signed_off_by": session.signed_off_by,
        "team_parts_waived": bool(session.team_parts_waived),
    }


def sealed_of(results: SessionResults) -> dict:
    """The sealed document that matches the close seal (hidden groups merged, or as sealed
    before that rule); raise if the stored ballots match neither."""
    for merge in (True, False):
        sealed = seal_document(results.session, results.ballots, merge=merge)
        if seal_of(sealed) == results.seal:
            return sealed
    # The stored ballots no longer match what was sealed at close: say so, export nothing.
    raise ServiceError("数据库中的选票与结束时的封存码不一致，已停止导出，请联系管理员核查。")


def team_parts_text(results: SessionResults) -> dict[str, str]:
    return {key: format_decimal(value) for key, value in results.team_parts.items()}


def sealed_figures(sealed: dict, team_parts: dict[str, str]) -> dict:
    """Every printed figure, recounted from the sealed document: what the result seal covers.

    Computed the same way at sign-off and by `survey verify`, from the same sealed ballots
    (with the small-group rule's merged labels), so the two can only agree or be tampered.
    """
    evaluation = evaluate_sealed(sealed, team_parts)
    return result_figures(evaluation, blank_ballots([b["ratings"] for b in sealed["ballots"]]))


def result_document_of(
    results: SessionResults, sealed: dict | None = None, figures: dict | None = None
) -> dict:
    """The document the result seal covers; figures, if given, are sealed_figures() of sealed
    (the archive computes them once for both)."""
    session = results.session
    sealed = sealed_of(results) if sealed is None else sealed
    if figures is None:
        figures = sealed_figures(sealed, team_parts_text(results))
    return result_document(session.id, session.seal, signoff_facts(session), figures)


def parts_outstanding(results: SessionResults) -> bool:
    """Tell whether the rules expect team parts the assessors have not entered yet."""
    has_team = any(row.spec.role == SubjectRole.TEAM for row in results.subjects)
    return bool(results.ruleset.team_parts is not None and has_team and not results.team_parts)


def sign_off(
    session: EvalSession,
    actor: User | None,
    *,
    waive_parts: bool = False,
    signer: str | None = None,
) -> str:
    """Seal and sign every figure of a closed session; return the result seal.

    The signer is the signed-in assessor (actor), or a name given on the command line.
    """
    name = (signer or "").strip() or (actor and (actor.display_name or actor.username)) or ""
    if not name:
        raise ServiceError("请填写签发人。")
    if len(name) > 200:
        raise ServiceError("签发人不能超过 200 个字符。")
    require_closed(session)
    if session.signed_off_at is not None:
        raise ServiceError("该测评结果已由考核组签发，不能重复签发。")
    if not session.seal:
        raise ServiceError("测评没有结束封存码，不能签发。")
    results = compute_results(session)
    if parts_outstanding(results) and not waive_parts:
        raise ServiceError("请先录入领导班子其他考核部分得分，或勾选“其他考核部分不适用”后再签发。")
    # Whole seconds: the time is printed, sealed and compared after a database round trip.
    session.signed_off_at = datetime.now(UTC).replace(microsecond=0)
    session.signed_off_by = name
    session.team_parts_waived = bool(waive_parts and not results.team_parts)
    seal = result_seal_of(result_document_of(results))
    session.result_seal = seal
    session.result_signature = sign(result_statement(session.id, session.seal, seal))
    record(
        actor,
        "sign_off",
        session.id,
        json.dumps(
            {"result_seal": seal, "team_parts_waived": session.team_parts_waived},
            ensure_ascii=False,
        ),
    )
    db.session.flush()
    return seal


def attestation(
    results: SessionResults, sealed: dict | None = None, figures: dict | None = None
) -> dict:
    """The signed facts an archive carries: both seals, their signatures, the public key."""
    session = results.session
    pem = public_pem()
    found = {
        "public_key": pem.decode(),
        "close_seal": session.seal,
        "close_signature": sign(close_statement(session.id, session.seal)),
        "result_seal": session.result_seal,
        "result_signature": session.result_signature,
        **signoff_facts(session),
    }
    if session.result_seal is not None:
        recomputed = result_seal_of(result_document_of(results, sealed, figures))
        if recomputed != session.result_seal:
            # Something the reports print changed after sign-off: export nothing.
            raise ServiceError(
                "数据库中的结果与签发时的结果封存码不一致，已停止导出，请联系管理员核查。"
            )
    return found
