"""考核年度 pages: the dashboard, units and their sessions, checklist facts, points, results,
exports; and 整改 (rectification) of a closed session's feedback, with the person's record."""

from datetime import date

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from survey.clock import today
from survey.domain.checklist import get_checklist
from survey.domain.errors import RuleSetNotFound
from survey.exports import EXPORT_KINDS
from survey.inputs import strict_int
from survey.models import MeetingType, Role, SessionState
from survey.services import NotFound, ServiceError
from survey.services import rectification as rectification_service
from survey.services import seasons as season_service
from survey.services.audit import record_download
from survey.services.history import person_history
from survey.services.inquiries import inquiries_about, overdue_inquiries
from survey.services.roster import get_subject
from survey.services.sessions import can_organize, get_for, visible_sessions
from survey.web.downloads import send_download
from survey.web.kit import ASSESSORS, ORGANIZERS, STAFF, perform_action, refused, require_role

bp = Blueprint("seasons", __name__)


def _int(raw: str | None) -> int | None:
    return strict_int(raw or "", 1, 10**9)


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _season(season_id: int):
    return season_service.get_season(current_user, season_id)


# ---- seasons ------------------------------------------------------------------------------


@bp.get("/seasons")
@require_role(*STAFF)
def seasons():
    return render_template(
        "seasons/list.html",
        seasons=season_service.visible_seasons(current_user),
        may_create=current_user.role in ORGANIZERS,
        checklists=season_service.checklist_choices(),
        this_year=today().year,
        meetings=[
            s for s in visible_sessions(current_user) if s.meeting_type == MeetingType.SHUZE_SHULIAN
        ],
    )


@bp.post("/seasons")
@require_role(*ORGANIZERS)
def create():
    form = request.form
    try:
        season = season_service.create_season(
            current_user,
            form.get("name", ""),
            _int(form.get("year")),
            form.get("checklist", ""),
            form.get("holidays", ""),
        )
    except ServiceError as error:
        return refused(error, seasons)
    flash(f"已创建考核年度“{season.name}”。下一步：添加被考核单位。", "info")
    return redirect(url_for("seasons.dashboard", season_id=season.id))


def dashboard_page(season_id: int):
    season = _season(season_id)
    return render_template(
        "seasons/dashboard.html",
        season=season,
        overview=season_service.overview(season),
        may_manage=season_service.can_manage(current_user, season),
        may_assess=season_service.can_assess(current_user, season),
        grants=season_service.season_grants(season),
    )


@bp.get("/seasons/<id:season_id>")
@require_role(*STAFF)
def dashboard(season_id: int):
    return dashboard_page(season_id)


def _managed(season_id: int, action):
    """Run a management action on the season, then go back to the dashboard."""
    season = _season(season_id)
    return perform_action(
        lambda: dashboard_page(season_id),
        lambda: action(season),
        url_for("seasons.dashboard", season_id=season_id),
    )


@bp.post("/seasons/<id:season_id>/edit")
@require_role(*ORGANIZERS)
def edit(season_id: int):
    form = request.form

    def action(season):
        season_service.update_season(
            season,
            form.get("name", ""),
            _int(form.get("year")),
            form.get("holidays", ""),
            current_user,
        )
        return "已保存考核年度信息。"

    return _managed(season_id, action)


@bp.post("/seasons/<id:season_id>/units")
@require_role(*ORGANIZERS)
def add_unit(season_id: int):
    form = request.form

    def action(season):
        unit = season_service.add_unit(
            season, form.get("name", ""), form.get("population"), current_user
        )
        return f"已添加单位“{unit.name}”。"

    return _managed(season_id, action)


@bp.post("/seasons/<id:season_id>/units/<id:unit_id>")
@require_role(*ORGANIZERS)
def update_unit(season_id: int, unit_id: int):
    form = request.form

    def action(season):
        unit = season_service.get_unit(season, unit_id)
        season_service.update_unit(unit, form.get("name", ""), form.get("population"), current_user)
        return f"已保存单位“{unit.name}”。"

    return _managed(season_id, action)


@bp.post("/seasons/<id:season_id>/units/<id:unit_id>/delete")
@require_role(*ORGANIZERS)
def delete_unit(season_id: int, unit_id: int):
    def action(season):
        unit = season_service.get_unit(season, unit_id)
        name = unit.name
        season_service.delete_unit(unit, current_user)
        return f"已从考核年度中移除单位“{name}”（其测评保留）。"

    return _managed(season_id, action)


@bp.post("/seasons/<id:season_id>/units/<id:unit_id>/session")
@require_role(*ORGANIZERS)
def link_session(season_id: int, unit_id: int):
    raw = request.form.get("session_id", "").strip()

    def action(season):
        unit = season_service.get_unit(season, unit_id)
        if raw and _int(raw) is None:
            raise ServiceError("测评编号应为数字。")
        season_service.link_session(unit, _int(raw), current_user)
        return f"已关联单位“{unit.name}”的测评。" if raw else f"已取消单位“{unit.name}”的测评关联。"

    return _managed(season_id, action)


@bp.post("/seasons/<id:season_id>/units/<id:unit_id>/session/new")
@require_role(*ORGANIZERS)
def new_session(season_id: int, unit_id: int):
    season = _season(season_id)
    try:
        unit = season_service.get_unit(season, unit_id)
        session = season_service.create_unit_session(unit, current_user)
    except ServiceError as error:
        return refused(error, lambda: dashboard_page(season_id))
    flash(f"已为“{unit.name}”创建测评，请录入测评对象和参评人员类别。", "info")
    return redirect(url_for("organize.session_detail", session_id=session.id))


@bp.post("/seasons/<id:season_id>/grants")
@require_role(*ORGANIZERS)
def grant(season_id: int):
    username = request.form.get("username", "")

    def action(season):
        user = season_service.grant_season(season, username, current_user)
        what = "管理单位和测评" if user.role == Role.ORGANIZER else "录入考核事实、计算得分"
        return f"已授权“{user.display_name or user.username}”{what}。"

    return _managed(season_id, action)


@bp.post("/seasons/<id:season_id>/grants/<id:user_id>/delete")
@require_role(*ORGANIZERS)
def revoke(season_id: int, user_id: int):
    def action(season):
        season_service.revoke_season(season, user_id, current_user)
        return "已取消授权。"

    return _managed(season_id, action)


# ---- facts and points ---------------------------------------------------------------------


@bp.route("/seasons/<id:season_id>/units/<id:unit_id>/facts", methods=["GET", "POST"])
@require_role(*ASSESSORS)
def facts(season_id: int, unit_id: int):
    season = _season(season_id)
    season_service.require_assess(current_user, season)
    unit = season_service.get_unit(season, unit_id)
    checklist = season_service.checklist_of(season)

    def page(values=None, population=None):
        return render_template(
            "seasons/facts.html",
            season=season,
            unit=unit,
            checklist=checklist,
            values=season_service.facts_of(unit) if values is None else values,
            population=unit.population if population is None else population,
        )

    if request.method == "GET":
        return page()
    values = {key: request.form.get(key, "") for key in checklist.facts}
    population = request.form.get("population", "")
    try:
        count = season_service.enter_facts(unit, values, population, current_user)
    except ServiceError as error:
        return refused(error, lambda: page(values, population))
    flash(f"已保存“{unit.name}”的考核事实{count}项。", "info")
    return redirect(url_for("seasons.points", season_id=season_id) + f"#unit-{unit_id}")


@bp.get("/seasons/<id:season_id>/points")
@require_role(*STAFF)
def points(season_id: int):
    season = _season(season_id)
    return render_template(
        "seasons/points.html",
        season=season,
        overview=season_service.overview(season),
        may_assess=season_service.can_assess(current_user, season),
    )


@bp.post("/seasons/<id:season_id>/apply")
@require_role(*ASSESSORS)
def apply(season_id: int):
    season = _season(season_id)
    try:
        result = season_service.apply_points(season, current_user)
    except ServiceError as error:
        return refused(error, lambda: dashboard_page(season_id))
    flash(f"已按考核细则计算并写入{len(result.rows)}个单位的得分。", "info")
    return redirect(url_for("seasons.results", season_id=season_id))


@bp.get("/checklists/<key>/<version>")
@require_role(*STAFF)
def checklist(key: str, version: str):
    try:
        found = get_checklist(key, version)
    except RuleSetNotFound:
        raise NotFound("考核细则不存在。") from None
    return render_template("seasons/checklist.html", checklist=found)


# ---- results ------------------------------------------------------------------------------


@bp.get("/seasons/<id:season_id>/results")
@require_role(*STAFF)
def results(season_id: int):
    season = _season(season_id)
    return render_template(
        "seasons/results.html", season=season, overview=season_service.overview(season)
    )


def _download(season_id: int, kind: str):
    from survey.reports.season import season_pdf, season_workbook

    season = _season(season_id)
    overview = season_service.overview(season)
    build, mimetype, label = {
        "xlsx": (season_workbook, EXPORT_KINDS["xlsx"].mimetype, "考核年度结果（Excel）"),
        "pdf": (season_pdf, "application/pdf", "考核年度结果（PDF）"),
    }[kind]
    data = build(overview)
    record_download(current_user, None, f"考核年度 {season.id} {label}")
    return send_download(
        data,
        f"考核年度{season.id}-{season.year}-结果.{kind}",
        f"season-{season.id}-{season.year}-results.{kind}",
        mimetype,
    )


@bp.get("/seasons/<id:season_id>/results.<any(xlsx, pdf):kind>")
@require_role(*STAFF)
def download(season_id: int, kind: str):
    return _download(season_id, kind)


# ---- 整改 ---------------------------------------------------------------------------------


@bp.get("/sessions/<id:session_id>/rectification")
@require_role(*STAFF)
def rectification(session_id: int):
    session = get_for(current_user, session_id, organize=False)
    items = rectification_service.items_of(session)
    return render_template(
        "seasons/rectification.html",
        session=session,
        items=items,
        counts={s.id: sum(1 for i in items if i.subject_id == s.id) for s in session.subjects},
        closed=session.state == SessionState.CLOSED,
        is_overdue=rectification_service.is_overdue,
    )


def subject_rectification_page(session_id: int, subject_id: int, draft: dict | None = None):
    session = get_for(current_user, session_id, organize=False)
    subject = get_subject(session, subject_id)
    closed = session.state == SessionState.CLOSED
    return render_template(
        "seasons/rectification_subject.html",
        session=session,
        subject=subject,
        feedback=rectification_service.feedback(session, subject) if closed else [],
        items=rectification_service.items_of(session, subject),
        may_organize=can_organize(current_user, session),
        closed=closed,
        is_overdue=rectification_service.is_overdue,
        draft=draft or {},
    )


@bp.route("/sessions/<id:session_id>/rectification/<id:subject_id>", methods=["GET", "POST"])
@require_role(*STAFF)
def subject_rectification(session_id: int, subject_id: int):
    if request.method == "GET":
        return subject_rectification_page(session_id, subject_id)
    session = get_for(current_user, session_id, organize=True)
    subject = get_subject(session, subject_id)
    draft = {"issue": request.form.get("issue", ""), "due_on": request.form.get("due_on", "")}
    try:
        rectification_service.add_item(
            session, subject, draft["issue"], _date(draft["due_on"]), current_user
        )
    except ServiceError as error:
        return refused(error, lambda: subject_rectification_page(session_id, subject_id, draft))
    flash("已登记整改事项。", "info")
    return redirect(url_for("seasons.subject_rectification", **request.view_args))


@bp.post("/sessions/<id:session_id>/rectification/items/<id:item_id>/report")
@require_role(*ORGANIZERS)
def rectification_report(session_id: int, item_id: int):
    session = get_for(current_user, session_id, organize=True)
    item = rectification_service.get_item(session, item_id)
    subject_id = item.subject_id
    try:
        rectification_service.record_report(
            session, item_id, request.form.get("report", ""), current_user
        )
    except ServiceError as error:
        return refused(error, lambda: subject_rectification_page(session_id, subject_id))
    flash("已登记整改情况。", "info")
    return redirect(
        url_for("seasons.subject_rectification", session_id=session_id, subject_id=subject_id)
    )


@bp.get("/rectification/overdue")
@require_role(*STAFF)
def overdue():
    return render_template(
        "seasons/overdue.html",
        items=rectification_service.overdue_items(current_user),
        inquiries=overdue_inquiries(current_user),
        today=today(),
    )


# ---- the person's record ------------------------------------------------------------------


@bp.get("/people/record")
@require_role(*STAFF)
def person_record():
    name = request.args.get("name", "").strip()[:100]
    history = person_history(current_user, name) if name else []
    seasons = {
        line.session.id: season_service.season_of_session(line.session.id) for line in history
    }
    return render_template(
        "seasons/person.html",
        name=name,
        history=history,
        seasons=seasons,
        inquiries=inquiries_about(current_user, name) if name else [],
        items=rectification_service.items_about(current_user, name) if name else [],
    )
