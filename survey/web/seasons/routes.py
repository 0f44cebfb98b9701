"""考核年度 pages: the dashboard, units and their sessions, checklist facts, points, results
and their downloads."""

from functools import wraps

from flask import Blueprint, render_template, url_for
from flask_login import current_user

from survey.clock import today
from survey.domain.checklist import get_checklist
from survey.domain.errors import RuleSetNotFound
from survey.exports import EXPORT_KINDS
from survey.models import MeetingType, Role
from survey.services import NotFound
from survey.services import seasons as season_service
from survey.services.audit import record_download
from survey.services.sessions import visible_sessions
from survey.web.downloads import send_download
from survey.web.kit import ASSESSORS, ORGANIZERS, STAFF, form_page, perform, require_role
from survey.web.seasons.forms import (
    GrantForm,
    LinkForm,
    NewSeasonForm,
    SeasonForm,
    UnitForm,
    facts_form,
)

bp = Blueprint("seasons", __name__)


def with_season(*roles):
    """Let these roles in, and load the season named in the URL (one they may see) as `season`."""

    def decorate(view):
        @wraps(view)
        @require_role(*roles)
        def wrapper(season_id: int, **kwargs):
            return view(season_service.get_season(current_user, season_id), **kwargs)

        return wrapper

    return decorate


def managed(season, form, action, done):
    """Handle a management post on the season's dashboard, and go back to it."""
    return perform(
        form,
        lambda: dashboard_page(season),
        action,
        done,
        url_for("seasons.dashboard", season_id=season.id),
    )


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
    form = NewSeasonForm()
    return perform(
        form,
        seasons,
        lambda: season_service.create_season(
            current_user, form.name.data, form.year.data, form.checklist.data, form.holidays.data
        ),
        lambda season: f"已创建考核年度“{season.name}”。下一步：添加被考核单位。",
        lambda season: url_for("seasons.dashboard", season_id=season.id),
    )


def dashboard_page(season):
    return render_template(
        "seasons/dashboard.html",
        season=season,
        overview=season_service.overview(season),
        may_manage=season_service.can_manage(current_user, season),
        may_assess=season_service.can_assess(current_user, season),
        grants=season_service.season_grants(season),
    )


@bp.get("/seasons/<id:season_id>")
@with_season(*STAFF)
def dashboard(season):
    return dashboard_page(season)


@bp.post("/seasons/<id:season_id>/edit")
@with_season(*ORGANIZERS)
def edit(season):
    form = SeasonForm()
    return managed(
        season,
        form,
        lambda: season_service.update_season(
            season, form.name.data, form.year.data, form.holidays.data, current_user
        ),
        "已保存考核年度信息。",
    )


@bp.post("/seasons/<id:season_id>/units")
@with_season(*ORGANIZERS)
def add_unit(season):
    form = UnitForm()
    return managed(
        season,
        form,
        lambda: season_service.add_unit(season, form.name.data, form.population.data, current_user),
        lambda unit: f"已添加单位“{unit.name}”。",
    )


@bp.post("/seasons/<id:season_id>/units/<id:unit_id>")
@with_season(*ORGANIZERS)
def update_unit(season, unit_id: int):
    unit = season_service.get_unit(season, unit_id)
    form = UnitForm()
    return managed(
        season,
        form,
        lambda: season_service.update_unit(
            unit, form.name.data, form.population.data, current_user
        ),
        lambda _: f"已保存单位“{unit.name}”。",
    )


@bp.post("/seasons/<id:season_id>/units/<id:unit_id>/delete")
@with_season(*ORGANIZERS)
def delete_unit(season, unit_id: int):
    unit = season_service.get_unit(season, unit_id)
    return managed(
        season,
        None,
        lambda: season_service.delete_unit(unit, current_user),
        f"已从考核年度中移除单位“{unit.name}”（其测评保留）。",
    )


@bp.post("/seasons/<id:season_id>/units/<id:unit_id>/session")
@with_season(*ORGANIZERS)
def link_session(season, unit_id: int):
    unit = season_service.get_unit(season, unit_id)
    form = LinkForm()
    return managed(
        season,
        form,
        lambda: season_service.link_session(unit, form.session_id.data, current_user),
        lambda _: (
            f"已关联单位“{unit.name}”的测评。"
            if form.session_id.data
            else f"已取消单位“{unit.name}”的测评关联。"
        ),
    )


@bp.post("/seasons/<id:season_id>/units/<id:unit_id>/session/new")
@with_season(*ORGANIZERS)
def new_session(season, unit_id: int):
    unit = season_service.get_unit(season, unit_id)
    return perform(
        None,
        lambda: dashboard_page(season),
        lambda: season_service.create_unit_session(unit, current_user),
        f"已为“{unit.name}”创建测评，请录入测评对象和参评人员类别。",
        lambda session: url_for("organize.session_detail", session_id=session.id),
    )


@bp.post("/seasons/<id:season_id>/grants")
@with_season(*ORGANIZERS)
def grant(season):
    form = GrantForm()

    def granted(user) -> str:
        what = "管理单位和测评" if user.role == Role.ORGANIZER else "录入考核事实、计算得分"
        return f"已授权“{user.display_name or user.username}”{what}。"

    return managed(
        season,
        form,
        lambda: season_service.grant_season(season, form.username.data, current_user),
        granted,
    )


@bp.post("/seasons/<id:season_id>/grants/<id:user_id>/delete")
@with_season(*ORGANIZERS)
def revoke(season, user_id: int):
    return managed(
        season,
        None,
        lambda: season_service.revoke_season(season, user_id, current_user),
        "已取消授权。",
    )


# ---- facts and points ---------------------------------------------------------------------


@bp.route("/seasons/<id:season_id>/units/<id:unit_id>/facts", methods=["GET", "POST"])
@with_season(*ASSESSORS)
def facts(season, unit_id: int):
    season_service.require_assess(current_user, season)
    unit = season_service.get_unit(season, unit_id)
    checklist = season_service.checklist_of(season)
    form = facts_form(checklist, season_service.facts_of(unit), unit.population)

    def page():
        return render_template(
            "seasons/facts.html",
            season=season,
            unit=unit,
            checklist=checklist,
            values={key: form[key].data or "" for key in checklist.facts},
            population=form.population.data,
        )

    return form_page(
        form,
        page,
        lambda: season_service.enter_facts(
            unit,
            {key: form[key].data or "" for key in checklist.facts},
            form.population.data,
            current_user,
        ),
        lambda count: f"已保存“{unit.name}”的考核事实{count}项。",
        url_for("seasons.points", season_id=season.id) + f"#unit-{unit_id}",
    )


@bp.get("/seasons/<id:season_id>/points")
@with_season(*STAFF)
def points(season):
    return render_template(
        "seasons/points.html",
        season=season,
        overview=season_service.overview(season),
        may_assess=season_service.can_assess(current_user, season),
    )


@bp.post("/seasons/<id:season_id>/apply")
@with_season(*ASSESSORS)
def apply(season):
    return perform(
        None,
        lambda: dashboard_page(season),
        lambda: season_service.apply_points(season, current_user),
        lambda result: f"已按考核细则计算并写入{len(result.rows)}个单位的得分。",
        url_for("seasons.results", season_id=season.id),
    )


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
@with_season(*STAFF)
def results(season):
    return render_template(
        "seasons/results.html", season=season, overview=season_service.overview(season)
    )


@bp.get("/seasons/<id:season_id>/results.<any(xlsx, pdf):kind>")
@with_season(*STAFF)
def download(season, kind: str):
    from survey.reports.season import season_pdf, season_workbook

    build, mimetype, label = {
        "xlsx": (season_workbook, EXPORT_KINDS["xlsx"].mimetype, "考核年度结果（Excel）"),
        "pdf": (season_pdf, "application/pdf", "考核年度结果（PDF）"),
    }[kind]
    data = build(season_service.overview(season))
    record_download(current_user, None, f"考核年度 {season.id} {label}")
    return send_download(
        data,
        f"考核年度{season.id}-{season.year}-结果.{kind}",
        f"season-{season.id}-{season.year}-results.{kind}",
        mimetype,
    )
