"""Users: creation, login, the first administrator, and what an administrator changes later.

Every change an administrator makes to an account goes into the audit log (without a session),
with the account's username in the detail, so that "who gave this person which rights" has an
answer years later.
"""

import sqlalchemy as sa

from survey.extensions import db
from survey.models import Role, User
from survey.security import check_password, hash_password, new_password
from survey.services import ServiceError, one_of
from survey.services.audit import record

MIN_PASSWORD_LENGTH = 8


MAX_NAME_LENGTH = 64


def create_user(
    username: str, password: str, role: Role, display_name: str = "", actor: User | None = None
) -> User:
    """Create an account; refuse a taken name or a short password."""
    username = username.strip()
    if not username or len(username) > MAX_NAME_LENGTH:
        raise ServiceError("用户名不能为空，且不超过64个字符。")
    if any(ch.isspace() or not ch.isprintable() for ch in username):
        raise ServiceError("用户名不能包含空格或不可见字符。")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"密码至少{MIN_PASSWORD_LENGTH}个字符。")
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise ServiceError(f"用户名“{username}”已存在。")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=Role(role),
        display_name=_display_name(display_name) or username,
    )
    db.session.add(user)
    db.session.flush()
    record(actor, "create_user", detail=f"{username} ({Role(role).label})")
    db.session.flush()
    return user


def create_with_new_password(
    username: str, role: Role, display_name: str, actor: User
) -> tuple[User, str]:
    """Create an account with a generated password, returned once for the administrator."""
    password = new_password()
    return create_user(username, password, role, display_name, actor=actor), password


def reset_password(user: User, actor: User | None) -> str:
    """Give the account a new random password and return it once; the old one stops working."""
    password = new_password()
    user.password_hash = hash_password(password)
    record(actor, "reset_password", detail=user.username)
    db.session.flush()
    end_sessions(user)  # the new hash and the new session version go in one transaction
    return password


def set_active(user: User, active: bool, actor: User | None) -> None:
    """Enable or disable an account; a disabled account cannot log in or use a login it has."""
    if user.active == active:
        return
    if not active:
        if actor is not None and actor.id == user.id:
            raise ServiceError("不能停用自己正在使用的账号。")
        _keep_an_admin(user)
    user.active = active
    record(actor, "enable_user" if active else "disable_user", detail=user.username)
    db.session.flush()
    end_sessions(user)  # a disabled account's logins end at their next request


def change_role(user: User, role: Role, actor: User | None) -> None:
    """Change what the account may do; the last active administrator keeps the role."""
    role = Role(role)
    if user.role == role:
        return
    if user.role == Role.ADMIN:
        if actor is not None and actor.id == user.id:
            raise ServiceError("不能取消自己的系统管理员角色，请由另一位管理员操作。")
        _keep_an_admin(user)
    before = user.role
    user.role = role
    record(actor, "change_role", detail=f"{user.username}：{before.label} → {role.label}")
    db.session.flush()


def rename(user: User, display_name: str, actor: User | None) -> None:
    """Change the name shown for the account (in lists, grants and the audit log)."""
    name = _display_name(display_name)
    if not name:
        raise ServiceError("请填写姓名。")
    if name == user.display_name:
        return
    before = user.display_name
    user.display_name = name
    record(actor, "rename_user", detail=f"{user.username}：{before} → {name}")
    db.session.flush()


def get_user(user_id: int) -> User:
    return one_of(User, user_id, "用户不存在。")


def all_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.id)))


def _display_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if len(name) > MAX_NAME_LENGTH:
        raise ServiceError("姓名不能超过64个字符。")
    return name


def _keep_an_admin(user: User) -> None:
    """Refuse to leave the platform without an active administrator."""
    if user.role != Role.ADMIN or not user.active:
        return
    others = db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.role == Role.ADMIN, User.active.is_(True), User.id != user.id
        )
    )
    if not others:
        raise ServiceError("这是唯一启用的系统管理员账号，不能停用或改为其他角色。")


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        # Hash anyway so that timing does not reveal which usernames exist.
        check_password(_DUMMY_HASH, password)
        return None
    return user if check_password(user.password_hash, password) else None


def end_sessions(user: User) -> None:
    """End every login session of this account, on every device, at its next request."""
    db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    db.session.refresh(user)


def ensure_first_admin() -> tuple[str, str] | None:
    """Create the first administrator when there is no user; return its login once."""
    if db.session.scalar(sa.select(sa.func.count(User.id))):
        return None
    password = new_password()
    create_user("admin", password, Role.ADMIN, display_name="系统管理员")
    return "admin", password


_DUMMY_HASH = hash_password("not-a-real-password")
