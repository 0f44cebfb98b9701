"""Results for organizers and assessors: the page, charts, downloads, team parts, verification."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from survey.exports import EXPORT_KINDS, build_export, export_filename
from survey.reports.figures import beijing_text
from survey.services import NotFound, ServiceError
from survey.services.archive import instance_trust, verify_upload
from survey.services.audit import record_download
from survey.services.results import compute_results, require_closed, set_team_parts
from survey.services.sessions import get_for
from survey.services.signing import instance_fingerprint
from survey.services.signoff import parts_outstanding
from survey.services.signoff import sign_off as sign_off_session
from survey.web.downloads import send_download
from survey.web.kit import ASSESSORS, STAFF, require_role

bp = Blueprint("results", __name__)

SVG = "image/svg+xml"


def in_wechat() -> bool:
    """WeChat's in-app browser silently drops file downloads."""
    return "MicroMessenger" in request.headers.get("User-Agent", "")


def closed_results(session_id: int):
    session = get_for(current_user, session_id, organize=False)
    require_closed(session)
    return compute_results(session)


# What each export is, for the ASCII file name older browsers fall back to.
ASCII_STEMS = {"json": "archive", "xlsx": "tally", "pdf": "report", "zip": "integrity-files"}


def ascii_name(results, what: str, suffix: str) -> str:
    """Name a file for browsers that ignore the UTF-8 name: session-3-2026-05-20-report.pdf."""
    session = results.session
    day = f"-{session.meeting_date.isoformat()}" if session.meeting_date else ""
    return f"session-{session.id}{day}-{what}{suffix}"


@bp.get("/sessions/<id:session_id>/results")
@require_role(*STAFF)
def page(session_id: int):
    results = closed_results(session_id)
    return render_template(
        "results/results.html",
        results=results,
        session=results.session,
        kinds=EXPORT_KINDS,
        in_wechat=in_wechat(),
        can_enter_parts=bool(results.ruleset.entered_parts),
        can_sign_off=current_user.role in STAFF,
        parts_outstanding=parts_outstanding(results),
        signed_off_text=beijing_text(results.session.signed_off_at),
    )


@bp.get("/sessions/<id:session_id>/results/<any(distribution, rates):name>.svg")
@require_role(*STAFF)
def chart(session_id: int, name: str):
    from survey.reports import charts

    results = closed_results(session_id)
    draw = charts.distribution_chart if name == "distribution" else charts.rates_chart
    label = "评价分布图" if name == "distribution" else "较好以上率图"
    return send_download(
        draw(results).encode(),
        f"测评{session_id}-{label}.svg",
        ascii_name(results, f"{name}-chart", ".svg"),
        SVG,
        inline=True,
    )


@bp.get("/sessions/<id:session_id>/results/download/<kind>")
@require_role(*STAFF)
def download(session_id: int, kind: str):
    if kind not in EXPORT_KINDS:
        raise NotFound("没有这种下载格式。")
    results = closed_results(session_id)
    data = build_export(results, kind)
    record_download(current_user, session_id, EXPORT_KINDS[kind].label)
    return send_download(
        data,
        export_filename(results, kind),
        ascii_name(results, ASCII_STEMS[kind], EXPORT_KINDS[kind].suffix),
        EXPORT_KINDS[kind].mimetype,
    )


@bp.get("/sessions/<id:session_id>/results/subjects/<id:subject_id>/<any(sheet, feedback):what>")
@require_role(*STAFF)
def subject_document(session_id: int, subject_id: int, what: str):
    from survey.exports import signed_sheet
    from survey.reports.archive import feedback_sheet

    results = closed_results(session_id)
    found = [(n, r) for n, r in enumerate(results.subjects, 1) if r.spec.id == subject_id]
    if not found:
        raise NotFound("测评对象不存在。")
    number, row = found[0]
    build, label, stem = (
        (signed_sheet, "廉政档案", "integrity-file")
        if what == "sheet"
        else (feedback_sheet, "书面反馈", "feedback")
    )
    data = build(results, row)
    record_download(current_user, session_id, f"{row.spec.name}的{label}")
    return send_download(
        data,
        f"测评{session_id}-{number:02d}-{row.spec.name}-{label}.pdf",
        ascii_name(results, f"subject-{number:02d}-{stem}", ".pdf"),
        "application/pdf",
    )


@bp.post("/sessions/<id:session_id>/results/team-parts")
@require_role(*ASSESSORS)
def team_parts(session_id: int):
    session = get_for(current_user, session_id, organize=False)
    require_closed(session)
    values = {key: value for key, value in request.form.items() if key != "csrf_token"}
    try:
        total = set_team_parts(session, values, current_user)
    except ServiceError as error:
        flash(str(error), "error")
    else:
        capped = "、".join(part.name for part in total.capped_parts) if total else ""
        flash(
            ("已保存领导班子其他考核部分得分。" if total else "已保存考核组录入的得分。")
            + (f"超过满分已按满分计：{capped}。" if capped else "")
        )
    return redirect(url_for("results.page", session_id=session_id) + "#team")


class VerifyForm(FlaskForm):
    archive = FileField(
        "归档文件（ZIP、JSON 或结果单 PDF）", validators=[FileRequired("请选择文件")]
    )


# Open without an account: an archivist checking a file years later needs no login. For a
# visitor the check reads only the uploaded file (size-capped in verify_upload) and the public
# key; signed-in staff also get the comparison with the seals recorded here.
@bp.route("/verify", methods=["GET", "POST"])
def verify():
    form = VerifyForm()
    verdict = None
    if form.validate_on_submit():
        trust = instance_trust(compare_records=current_user.is_authenticated)
        verdict = verify_upload(form.archive.data.read(), trust)
    status = 200 if verdict is None or verdict.ok else 422
    page = render_template(
        "results/verify.html", form=form, verdict=verdict, fingerprint=instance_fingerprint()
    )
    return page, status


@bp.post("/sessions/<id:session_id>/results/sign-off")
@require_role(*STAFF)
def sign_off(session_id: int):
    session = get_for(current_user, session_id, organize=False)
    try:
        seal = sign_off_session(
            session, current_user, waive_parts=bool(request.form.get("waive_parts"))
        )
    except ServiceError as error:
        flash(str(error), "error")
    else:
        flash(f"考核组已签发测评结果，结果封存码 {seal}。")
    return redirect(url_for("results.page", session_id=session_id) + "#signoff")
