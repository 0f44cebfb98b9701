"""考核年度 pages: the dashboard, units and their sessions, checklist facts, points, results
and their downloads."""

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
from survey.web.kit import (
    ASSESSORS,
    ORGANIZERS,
    STAFF,
    form_page,
    loading,
    page_of,
    perform,
    posts,
    require_role,
    shown,
)
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
    return loading("season_id", season_service.get_season, *roles)


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
        back=lambda season: url_for("seasons.dashboard", season_id=season.id),
        done=lambda season: f"已创建考核年度“{season.name}”。下一步：添加被考核单位。",
    )


def season_page(template: str, season, **more):
    """A page of the season: its overview, and what the viewer may do with it."""
    return render_template(
        template,
        season=season,
        overview=season_service.overview(season),
        may_manage=season_service.can_manage(current_user, season),
        may_assess=season_service.can_assess(current_user, season),
        **more,
    )


def dashboard_page(season):
    grants = season_service.season_grants(season)
    return season_page("seasons/dashboard.html", season, grants=grants)


@bp.get("/seasons/<id:season_id>")
@with_season(*STAFF)
def dashboard(season):
    return dashboard_page(season)


# The management posts on the season's dashboard: each goes back to it.
managed = posts(
    bp,
    with_season(*ORGANIZERS),
    lambda season, form, **_: dashboard_page(season),
    page_of("seasons.dashboard", "season_id"),
)


@managed("/seasons/<id:season_id>/edit", form=SeasonForm)
def edit(season, form: SeasonForm):
    season_service.update_season(
        season, form.name.data, form.year.data, form.holidays.data, current_user
    )
    return "已保存考核年度信息。"


@managed("/seasons/<id:season_id>/units", form=UnitForm)
def add_unit(season, form: UnitForm):
    unit = season_service.add_unit(season, form.name.data, form.population.data, current_user)
    return f"已添加单位“{unit.name}”。"


@managed("/seasons/<id:season_id>/units/<id:unit_id>", form=UnitForm)
def update_unit(season, form: UnitForm, unit_id: int):
    unit = season_service.get_unit(season, unit_id)
    season_service.update_unit(unit, form.name.data, form.population.data, current_user)
    return f"已保存单位“{unit.name}”。"


@managed("/seasons/<id:season_id>/units/<id:unit_id>/delete", form=None)
def delete_unit(season, form, unit_id: int):
    unit = season_service.get_unit(season, unit_id)
    season_service.delete_unit(unit, current_user)
    return f"已从考核年度中移除单位“{unit.name}”（其测评保留）。"


@managed("/seasons/<id:season_id>/units/<id:unit_id>/session", form=LinkForm)
def link_session(season, form: LinkForm, unit_id: int):
    unit = season_service.get_unit(season, unit_id)
    season_service.link_session(unit, form.session_id.data, current_user)
    if form.session_id.data:
        return f"已关联单位“{unit.name}”的测评。"
    return f"已取消单位“{unit.name}”的测评关联。"


@bp.post("/seasons/<id:season_id>/units/<id:unit_id>/session/new")
@with_season(*ORGANIZERS)
def new_session(season, unit_id: int):
    unit = season_service.get_unit(season, unit_id)
    return perform(
        None,
        lambda: dashboard_page(season),
        lambda: season_service.create_unit_session(unit, current_user),
        back=lambda session: url_for("organize.session_detail", session_id=session.id),
        done=f"已为“{unit.name}”创建测评，请录入测评对象和参评人员类别。",
    )


@managed("/seasons/<id:season_id>/grants", form=GrantForm)
def grant(season, form: GrantForm):
    user = season_service.grant_season(season, form.username.data, current_user)
    what = "管理单位和测评" if user.role == Role.ORGANIZER else "录入考核事实、计算得分"
    return f"已授权“{user.display_name or user.username}”{what}。"


@managed("/seasons/<id:season_id>/grants/<id:user_id>/delete", form=None)
def revoke(season, form, user_id: int):
    season_service.revoke_season(season, user_id, current_user)
    return "已取消授权。"


# ---- facts and points ---------------------------------------------------------------------


@bp.route("/seasons/<id:season_id>/units/<id:unit_id>/facts", methods=["GET", "POST"])
@with_season(*ASSESSORS)
def facts(season, unit_id: int):
    season_service.require_assess(current_user, season)
    unit = season_service.get_unit(season, unit_id)
    checklist = season_service.checklist_of(season)
    form = facts_form(checklist, season_service.facts_of(unit), unit.population)
    values = {key: form[key].data or "" for key in checklist.facts}
    page = shown(
        "seasons/facts.html",
        season=season,
        unit=unit,
        checklist=checklist,
        values=values,
        population=form.population.data,
    )

    def enter():
        count = season_service.enter_facts(unit, values, form.population.data, current_user)
        return f"已保存“{unit.name}”的考核事实{count}项。"

    back = url_for("seasons.points", season_id=season.id) + f"#unit-{unit_id}"
    return form_page(form, page, enter, back)


@bp.get("/seasons/<id:season_id>/points")
@with_season(*STAFF)
def points(season):
    return season_page("seasons/points.html", season)


@posts(
    bp,
    with_season(*ASSESSORS),
    lambda season, form: dashboard_page(season),
    page_of("seasons.results", "season_id"),
)("/seasons/<id:season_id>/apply", form=None)
def apply(season, form):
    result = season_service.apply_points(season, current_user)
    return f"已按考核细则计算并写入{len(result.rows)}个单位的得分。"


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
    return season_page("seasons/results.html", season)


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
