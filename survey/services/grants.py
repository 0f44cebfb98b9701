"""Sharing a session with another account: read (an assessor) or organize (a co-organizer).

A *read* grant lets an assessor (考核组) open the closed session's results and every download
and enter the team's other parts; an *organize* grant makes an organizer a co-organizer, e.g.
the second clerk of paper entry, who must be a different account from the first. Only the
session's owner or an administrator shares or stops sharing; every change is audited.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from survey.extensions import db
from survey.models import EvalSession, GrantLevel, Role, SessionGrant, User
from survey.services import NotAllowed, ServiceError
from survey.services.access import drop_grant, set_grant
from survey.services.audit import record

LEVEL_LABELS = {
    GrantLevel.ASSESS: "查看结果（考核组：结果、下载、录入其他考核部分）",
    GrantLevel.ORGANIZE: "共同组织（可修改设置、发码、录入纸质票）",
}
SHORT_LABELS = {GrantLevel.ASSESS: "查看结果", GrantLevel.ORGANIZE: "共同组织"}


@dataclass(frozen=True)
class GrantLine:
    user_id: int
    username: str
    name: str
    role: str
    level: GrantLevel
    label: str


def may_share(user: User, session: EvalSession) -> bool:
    """Tell whether the user may grant and revoke access: the owner or an administrator."""
    return user.role == Role.ADMIN or session.owner_id == user.id


def grant_session(
    session: EvalSession, username: str, level: GrantLevel | str, actor: User
) -> SessionGrant:
    """Give the named account read or organize rights on the session (or change its level)."""
    _require_share(actor, session)
    try:
        level = GrantLevel(level)
    except ValueError:
        raise ServiceError("请选择授权类型。") from None
    name = (username or "").strip()
    if not name:
        raise ServiceError("请填写要授权的用户名。")
    user = db.session.scalar(sa.select(User).where(User.username == name))
    if user is None:
        raise ServiceError(f"没有用户名为“{name}”的账号，请先请系统管理员创建。")
    if not user.active:
        raise ServiceError(f"账号“{name}”已停用，不能授权。")
    if user.role == Role.ADMIN or user.id == session.owner_id:
        raise ServiceError("系统管理员和测评的创建者本来就能访问此测评，无需授权。")
    if level == GrantLevel.ORGANIZE and user.role != Role.ORGANIZER:
        raise ServiceError(
            f"“{name}”是{user.role.label}账号，只能授予查看结果权限；共同组织须是组织者账号。"
        )
    held = db.session.get(SessionGrant, (session.id, user.id))
    if held is not None and held.level == level:
        raise ServiceError(f"“{name}”已有{SHORT_LABELS[level]}权限。")
    grant, previous = set_grant(SessionGrant, level, session_id=session.id, user_id=user.id)
    if previous is None:
        detail = f"授予 {_who(user)} {SHORT_LABELS[level]}权限"
    else:
        detail = f"{_who(user)}：{SHORT_LABELS[previous]} → {SHORT_LABELS[level]}"
    record(actor, "grant_session", session.id, detail)
    db.session.flush()
    return grant


def revoke_session(session: EvalSession, user_id: int, actor: User) -> User:
    """Take the account's rights on the session away; it no longer sees the session at all."""
    _require_share(actor, session)
    grant = drop_grant(SessionGrant, session_id=session.id, user_id=user_id)
    user = db.session.get(User, user_id)
    detail = f"取消 {_who(user)} 的{SHORT_LABELS[grant.level]}权限"
    record(actor, "revoke_session", session.id, detail)
    db.session.flush()
    return user


def session_grants(session: EvalSession) -> list[GrantLine]:
    """Return who holds which right on the session, by level then username."""
    rows = db.session.execute(
        sa.select(SessionGrant, User)
        .join(User, User.id == SessionGrant.user_id)
        .where(SessionGrant.session_id == session.id)
        .order_by(SessionGrant.level, User.username)
    )
    return [
        GrantLine(
            user_id=user.id,
            username=user.username,
            name=user.display_name or user.username,
            role=user.role.label + ("" if user.active else "（已停用）"),
            level=grant.level,
            label=SHORT_LABELS[grant.level],
        )
        for grant, user in rows
    ]


def _require_share(actor: User, session: EvalSession) -> None:
    if not may_share(actor, session):
        raise NotAllowed("只有测评的创建者或系统管理员可以授权。")


def _who(user: User | None) -> str:
    if user is None:
        return "（已删除的账号）"
    name = user.display_name or user.username
    return name if name == user.username else f"{name}（{user.username}）"
