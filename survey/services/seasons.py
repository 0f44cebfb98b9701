"""考核年度 (assessment seasons): many units, their sessions, the checklist facts and the ranking.

Access: an administrator sees every season; the owner (the organizer who created it) and the
users granted it (SeasonGrant) see it too. A grant to an organizer lets them manage the units;
a grant to an assessor lets them enter facts and compute the points. A season grant also shows
the scores of the units' linked sessions on the season pages: whoever linked a session needed
organizer rights on it, so sharing its scores with the season's assessors is theirs to decide.

Points: the checklist (survey/domain/checklist.py) turns the facts into points for every part
other than 民主测评; `apply_points` writes them into each unit's session as team parts (through
`set_team_parts`), so the session's team total and member finals follow. The 民主测评 part comes
from the unit's closed session.
"""

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

import sqlalchemy as sa

from survey.domain import RuleSetNotFound, format_decimal
from survey.domain.checklist import (
    Checklist,
    ChecklistInputError,
    UnitInput,
    UnitScore,
    competition_ranks,
    fact_text,
    get_checklist,
    parse_facts,
    place_text,
    score_units,
    shipped_checklists,
    tied_places,
)
from survey.domain.evaluation import SubjectResult
from survey.domain.workdays import parse_calendar
from survey.extensions import db
from survey.inputs import strict_int
from survey.models import (
    EvalSession,
    GrantLevel,
    MeetingType,
    Role,
    Season,
    SeasonGrant,
    SeasonUnit,
    SessionState,
    SubjectRole,
    UnitFacts,
    User,
    utcnow,
)
from survey.services import NotAllowed, NotFound, ServiceError, one_of
from survey.services import sessions as session_service
from survey.services.access import drop_grant, set_grant, visible_to
from survey.services.audit import record
from survey.services.results import SessionResults, compute_results, set_team_parts
from survey.services.rulesets import ruleset_for

MAX_UNITS = 200
MAX_POPULATION = 100_000_000


# ---- who may see what ---------------------------------------------------------------------


def visible_seasons(user: User) -> list[Season]:
    """Return the seasons this user may open, newest year first."""
    return visible_to(user, Season, SeasonGrant.season_id, Season.year.desc(), Season.id.desc())


def _grant(user: User, season: Season) -> SeasonGrant | None:
    return db.session.get(SeasonGrant, (season.id, user.id))


def get_season(user: User, season_id: int) -> Season:
    """Return a season the user may see; one they have no business with is reported missing."""
    season = db.session.get(Season, season_id)
    if season is None:
        raise NotFound("考核年度不存在。")
    if user.role == Role.ADMIN or season.owner_id == user.id or _grant(user, season):
        return season
    raise NotFound("考核年度不存在。")


def can_manage(user: User, season: Season) -> bool:
    """Tell whether the user may change the season's units, sessions and grants."""
    if user.role == Role.ADMIN or season.owner_id == user.id:
        return True
    grant = _grant(user, season)
    return bool(grant and grant.level == GrantLevel.ORGANIZE and user.role == Role.ORGANIZER)


def can_assess(user: User, season: Season) -> bool:
    """Tell whether the user may enter facts and compute the points."""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.ASSESSOR and _grant(user, season) is not None


def require_manage(user: User, season: Season) -> None:
    if not can_manage(user, season):
        raise NotAllowed("您没有管理此考核年度的权限。")


def require_assess(user: User, season: Season) -> None:
    if not can_assess(user, season):
        raise NotAllowed("只有被授权的考核组成员可以录入考核事实和计算得分。")


def get_unit(season: Season, unit_id: int) -> SeasonUnit:
    return one_of(SeasonUnit, unit_id, "被考核单位不存在。", season_id=season.id)


# ---- the season itself --------------------------------------------------------------------


def checklist_choices() -> list[tuple[str, str]]:
    return [(f"{c.id}:{c.version}", c.label) for c in shipped_checklists()]


def checklist_of(season: Season) -> Checklist:
    try:
        return get_checklist(season.checklist_key, season.checklist_version)
    except RuleSetNotFound as error:
        raise ServiceError(str(error)) from None


def _checked_season(name: str, year: int | None, holidays: str) -> tuple[str, int, str]:
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise ServiceError("请填写考核年度名称（不超过200字）。")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ServiceError("年度应为2000到2100之间的年份。")
    holidays = (holidays or "").strip()
    if len(holidays) > 20_000:
        raise ServiceError("节假日列表过长。")
    try:
        parse_calendar(holidays)
    except ValueError as error:
        raise ServiceError(f"节假日列表有误：{error}。") from None
    return name, year, holidays


def create_season(
    owner: User, name: str, year: int | None, checklist: str, holidays: str = ""
) -> Season:
    """Create a season scored by a shipped checklist ("id:version")."""
    name, year, holidays = _checked_season(name, year, holidays)
    if checklist not in dict(checklist_choices()):
        raise ServiceError("请选择列表中的考核细则。")
    key, version = checklist.split(":", 1)
    season = Season(
        name=name,
        year=year,
        owner=owner,
        checklist_key=key,
        checklist_version=version,
        holidays=holidays,
    )
    db.session.add(season)
    db.session.flush()
    record(owner, "create_season", None, f"考核年度 {season.id}：{name}")
    db.session.flush()
    return season


def update_season(season: Season, name: str, year: int | None, holidays: str, actor: User) -> None:
    """Change the name, year and holidays; the checklist stays the one facts were entered for."""
    require_manage(actor, season)
    season.name, season.year, season.holidays = _checked_season(name, year, holidays)
    record(actor, "update_season", None, f"考核年度 {season.id}：{season.name}")
    db.session.flush()


def grant_season(season: Season, username: str, actor: User) -> User:
    """Let an organizer (to manage) or an assessor (to enter facts) work on the season."""
    require_manage(actor, season)
    user = db.session.scalar(sa.select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active:
        raise ServiceError("没有这个用户。")
    if user.role == Role.ADMIN or user.id == season.owner_id:
        raise ServiceError("系统管理员和创建者本来就可以访问此考核年度。")
    level = GrantLevel.ORGANIZE if user.role == Role.ORGANIZER else GrantLevel.ASSESS
    set_grant(SeasonGrant, level, season_id=season.id, user_id=user.id)
    record(actor, "grant_season", None, f"考核年度 {season.id}：授权 {user.username}")
    db.session.flush()
    return user


def revoke_season(season: Season, user_id: int, actor: User) -> None:
    require_manage(actor, season)
    drop_grant(SeasonGrant, season_id=season.id, user_id=user_id)
    record(actor, "revoke_season", None, f"考核年度 {season.id}：取消授权 {user_id}")
    db.session.flush()


def season_grants(season: Season) -> list[SeasonGrant]:
    return list(
        db.session.scalars(
            sa.select(SeasonGrant)
            .where(SeasonGrant.season_id == season.id)
            .order_by(SeasonGrant.user_id)
        )
    )


# ---- units --------------------------------------------------------------------------------


def _checked_unit(season: Season, name: str, population, unit: SeasonUnit | None):
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise ServiceError("请填写单位名称（不超过200字）。")
    if any(u.name == name and u is not unit for u in season.units):
        raise ServiceError(f"单位“{name}”已在本考核年度中。")
    return name, _population(population)


def _population(raw) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip().replace(",", "").replace("，", "")
    population = strict_int(text, 1, MAX_POPULATION)
    if population is None:
        raise ServiceError("人口应为正整数（人）。")
    return population


def add_unit(season: Season, name: str, population, actor: User) -> SeasonUnit:
    """Add a unit to assess (e.g. a county), with its population for per-10,000 items."""
    require_manage(actor, season)
    if len(season.units) >= MAX_UNITS:
        raise ServiceError(f"每个考核年度最多{MAX_UNITS}个单位。")
    name, people = _checked_unit(season, name, population, None)
    position = max((u.position for u in season.units), default=-1) + 1
    unit = SeasonUnit(name=name, population=people, position=position)
    season.units.append(unit)
    record(actor, "add_season_unit", None, f"考核年度 {season.id}：{name}")
    db.session.flush()
    return unit


def update_unit(unit: SeasonUnit, name: str, population, actor: User) -> None:
    require_manage(actor, unit.season)
    unit.name, unit.population = _checked_unit(unit.season, name, population, unit)
    record(actor, "update_season_unit", unit.session_id, f"考核年度 {unit.season_id}：{unit.name}")
    db.session.flush()


def delete_unit(unit: SeasonUnit, actor: User) -> None:
    """Remove a unit from the season; its session itself is kept."""
    season = unit.season
    require_manage(actor, season)
    season.units.remove(unit)
    record(actor, "delete_season_unit", unit.session_id, f"考核年度 {season.id}：{unit.name}")
    db.session.flush()


def _require_compatible(checklist: Checklist, session: EvalSession) -> None:
    """Refuse a session whose rule set has no team part for some part of the checklist."""
    ruleset = ruleset_for(session.rule_set_key, session.rule_set_version)
    spec = ruleset.team_parts
    if spec is None:
        raise ServiceError(f"测评“{session.title}”的规则集没有领导班子考核部分，不能用于考核年度。")
    for part in checklist.parts:
        try:
            target = spec.part(part.key)
        except KeyError:
            raise ServiceError(
                f"测评“{session.title}”的规则集没有“{part.name}”部分，与考核细则不一致。"
            ) from None
        if target.maximum != part.maximum:
            raise ServiceError(
                f"测评“{session.title}”的规则集中“{part.name}”满分为"
                f"{format_decimal(target.maximum)}，考核细则为{format_decimal(part.maximum)}。"
            )


def link_session(unit: SeasonUnit, session_id: int | None, actor: User) -> None:
    """Link (or with None unlink) the unit's 汇报测评 session; the actor must organize it."""
    season = unit.season
    require_manage(actor, season)
    if session_id is None:
        unit.session = None
        record(actor, "unlink_season_session", None, f"考核年度 {season.id}：{unit.name}")
        db.session.flush()
        return
    session = session_service.get_for(actor, session_id, organize=True)
    _require_compatible(checklist_of(season), session)
    taken = next((u for u in season.units if u.session_id == session.id and u is not unit), None)
    if taken is not None:
        raise ServiceError(f"测评“{session.title}”已关联到单位“{taken.name}”。")
    unit.session = session
    record(actor, "link_season_session", session.id, f"考核年度 {season.id}：{unit.name}")
    db.session.flush()


def create_unit_session(unit: SeasonUnit, actor: User) -> EvalSession:
    """Create the unit's 汇报测评 session as a draft under the checklist's rule set; link it.

    The season knows no meeting date, so the session has none until the organizer types one
    or opens it: opening records the day (services/sessions.py), and the reports print it.
    """
    season = unit.season
    require_manage(actor, season)
    if actor.role not in (Role.ADMIN, Role.ORGANIZER):
        raise NotAllowed("只有组织者可以创建测评。")
    if unit.session_id is not None:
        raise ServiceError(f"单位“{unit.name}”已关联测评。")
    checklist = checklist_of(season)
    session = session_service.create_session(
        actor,
        session_service.SessionInput(
            title=f"{season.name}·{unit.name}",
            unit=unit.name,
            meeting_type=MeetingType.REPORT_EVALUATE,
            rule_set=f"{checklist.ruleset}:{checklist.ruleset_version}",
        ),
    )
    unit.session = session
    record(actor, "link_season_session", session.id, f"考核年度 {season.id}：{unit.name}")
    db.session.flush()
    return session


# ---- facts --------------------------------------------------------------------------------


def facts_of(unit: SeasonUnit) -> dict[str, str]:
    """Return the unit's entered facts as their canonical strings."""
    return dict(unit.facts.facts) if unit.facts else {}


def enter_facts(unit: SeasonUnit, raw: dict[str, str], population, actor: User) -> int:
    """Store the facts entered for a unit (blank = not entered yet); return how many are set."""
    season = unit.season
    require_assess(actor, season)
    checklist = checklist_of(season)
    try:
        parsed = parse_facts(checklist, {k: v for k, v in raw.items() if k in checklist.facts})
    except ChecklistInputError as error:
        raise ServiceError(str(error)) from None
    stored = {key: fact_text(value) for key, value in parsed.items()}
    unit.population = _population(population)
    if unit.facts is None:
        unit.facts = UnitFacts()
    unit.facts.facts = stored
    unit.facts.entered_by_id = actor.id
    unit.facts.entered_at = utcnow()
    record(
        actor,
        "enter_season_facts",
        unit.session_id,
        f"考核年度 {season.id}：{unit.name} 录入考核事实{len(stored)}项",
    )
    db.session.flush()
    return len(stored)


def unit_input(checklist: Checklist, unit: SeasonUnit) -> UnitInput:
    return UnitInput(parse_facts(checklist, facts_of(unit)), unit.population)


# ---- the overview -------------------------------------------------------------------------


@dataclass
class UnitRow:
    unit: SeasonUnit
    session: EvalSession | None
    checklist_score: UnitScore
    facts_entered: int
    results: SessionResults | None = None
    ballots: int | None = None
    expected: int | None = None
    place: int | None = None
    stored_parts: dict[str, Fraction] = field(default_factory=dict)

    @property
    def state(self) -> SessionState | None:
        return self.session.state if self.session else None

    @property
    def team(self) -> SubjectResult | None:
        if self.results is None:
            return None
        return next((r for r in self.results.subjects if r.spec.role == SubjectRole.TEAM), None)

    @property
    def survey_points(self) -> Fraction | None:
        return self.team.points if self.team else None

    @property
    def team_total(self) -> Fraction | None:
        total = self.results.team_total if self.results else None
        return total.total if total else None

    @property
    def team_scaled(self) -> Fraction | None:
        total = self.results.team_total if self.results else None
        return total.scaled if total else None

    @property
    def members(self) -> list[SubjectResult]:
        if self.results is None:
            return []
        return [r for r in self.results.subjects if r.spec.role != SubjectRole.TEAM]

    @property
    def applied(self) -> bool:
        """Tell whether the session holds exactly the points the facts give now."""
        score = self.checklist_score
        return score.complete and self.stored_parts == score.points


@dataclass
class SeasonOverview:
    season: Season
    checklist: Checklist
    rows: list[UnitRow]

    @property
    def counts(self) -> dict[str, int]:
        """Count units by the state of their session: 未建 (none), draft, open, closed."""
        counts = {"none": 0, **{state.value: 0 for state in SessionState}}
        for row in self.rows:
            counts[row.state.value if row.state else "none"] += 1
        return counts

    @property
    def facts_complete(self) -> bool:
        return bool(self.rows) and all(row.checklist_score.complete for row in self.rows)

    @property
    def all_applied(self) -> bool:
        return bool(self.rows) and all(row.applied for row in self.rows)

    def names(self, keys) -> list[str]:
        by_id = {row.unit.id: row.unit.name for row in self.rows}
        return [by_id[key] for key in keys if key in by_id]

    @property
    def rank_items_waiting_for(self) -> list[str]:
        """Return the units whose missing facts make the checklist's rank points 暂定."""
        keys = dict.fromkeys(k for row in self.rows for k in row.checklist_score.waiting_for)
        return self.names(keys)

    @property
    def ranking_waiting_for(self) -> list[str]:
        """Return the units that keep the ranking of team totals 暂定 (facts or total missing)."""
        return [
            row.unit.name
            for row in self.rows
            if not row.checklist_score.complete or row.team_total is None or not row.applied
        ]

    @property
    def ranking_provisional(self) -> bool:
        return bool(self.ranking_waiting_for)

    @property
    def tied_places(self) -> set[int]:
        return tied_places({row.unit.id: row.place for row in self.rows if row.place})

    def place_text(self, row: "UnitRow") -> str:
        """Return the unit's place as printed: "暂定 1（并列）" until every unit is in."""
        return place_text(row.place, row.place in self.tied_places, self.ranking_provisional)

    @property
    def ranking(self) -> list[UnitRow]:
        """Return the ranked units by place, then the unranked ones in their order."""
        ranked = sorted((r for r in self.rows if r.place), key=lambda r: (r.place, r.unit.position))
        return ranked + [r for r in self.rows if not r.place]


def overview(season: Season) -> SeasonOverview:
    """Gather every unit's progress, checklist points, session results and place."""
    checklist = checklist_of(season)
    units = list(season.units)
    inputs = {u.id: unit_input(checklist, u) for u in units}
    scores = score_units(checklist, inputs)
    rows = []
    for unit in units:
        session = unit.session
        row = UnitRow(unit, session, scores[unit.id], len(inputs[unit.id].facts))
        if session is not None:
            progress = session_service.progress(session)
            row.ballots, row.expected = progress.submitted, progress.expected
            stored = session.team_parts or {}
            row.stored_parts = {k: Fraction(v) for k, v in stored.items()}
            if session.state == SessionState.CLOSED:
                row.results = compute_results(session)
        rows.append(row)
    totals = {row.unit.id: row.team_total for row in rows if row.team_total is not None}
    places = competition_ranks(totals, best="high")
    for row in rows:
        row.place = places.get(row.unit.id)
    return SeasonOverview(season, checklist, rows)


def apply_points(season: Season, actor: User) -> SeasonOverview:
    """Write every unit's checklist points into its session's team parts, with the explanation.

    All units must have their facts complete (the ranked items depend on every unit) and a
    linked session. Every session's team parts and the season's mark are written in the
    caller's one transaction: a failure part-way leaves nothing half-applied.
    """
    require_assess(actor, season)
    current = overview(season)
    if not current.rows:
        raise ServiceError("本考核年度还没有单位。")
    incomplete = [row.unit.name for row in current.rows if not row.checklist_score.complete]
    if incomplete:
        raise ServiceError(f"以下单位的考核事实尚未录入完整：{'、'.join(incomplete)}。")
    unlinked = [row.unit.name for row in current.rows if row.session is None]
    if unlinked:
        raise ServiceError(f"以下单位尚未关联测评：{'、'.join(unlinked)}。")
    checklist = current.checklist
    for row in current.rows:
        _require_compatible(checklist, row.session)
    computed_at = utcnow()
    for row in current.rows:
        values = {key: format_decimal(v) for key, v in row.checklist_score.points.items()}
        set_team_parts(row.session, values, actor)
    for row in current.rows:
        row.unit.result = _result_document(checklist, row.checklist_score, computed_at)
    season.computed_at = computed_at
    season.checklist_sha256 = checklist.sha256
    record(
        actor,
        "apply_season_points",
        None,
        f"考核年度 {season.id}：按考核细则 {checklist.id} 版本 {checklist.version}"
        f"（SHA-256 {checklist.sha256}）写入{len(current.rows)}个单位的得分",
    )
    db.session.flush()
    return overview(season)


def _result_document(checklist: Checklist, score: UnitScore, computed_at: datetime) -> dict:
    return {
        "checklist": {
            "id": checklist.id,
            "version": checklist.version,
            "sha256": checklist.sha256,
        },
        "computed_at": computed_at.isoformat(),
        "parts": {
            part.part.key: {
                "name": part.part.name,
                "points": format_decimal(part.points),
                "explanation": part.explanation,
            }
            for part in score.parts
        },
    }


def stored_result(unit: SeasonUnit) -> dict | None:
    """Return the result document kept when the points were written into the session."""
    return unit.result


def season_of_session(session_id: int) -> Season | None:
    """Return the season one of whose units is this session, if any."""
    return db.session.scalar(
        sa.select(Season)
        .join(SeasonUnit, SeasonUnit.season_id == Season.id)
        .where(SeasonUnit.session_id == session_id)
        .limit(1)
    )
