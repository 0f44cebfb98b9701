"""Users: creation, login, and the first administrator."""

import sqlalchemy as sa

from survey.extensions import db
from survey.models import Role, User
from survey.security import check_password, hash_password, new_password
from survey.services import ServiceError
from survey.services.audit import record

MIN_PASSWORD_LENGTH = 8


def create_user(
    username: str, password: str, role: Role, display_name: str = "", actor: User | None = None
) -> User:
    """Create an account; refuse a taken name or a short password."""
    username = username.strip()
    if not username or len(username) > 64:
        raise ServiceError("用户名不能为空，且不超过64个字符。")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"密码至少{MIN_PASSWORD_LENGTH}个字符。")
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise ServiceError(f"用户名“{username}”已存在。")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=Role(role),
        display_name=display_name.strip() or username,
    )
    db.session.add(user)
    db.session.flush()
    record(actor, "create_user", detail=f"{username} ({Role(role).label})")
    db.session.commit()
    return user


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
    db.session.commit()
    db.session.refresh(user)


def reset_password(user: User, actor: User | None) -> str:
    """Give the account a new random password (returned once, to be shown once) and log it out."""
    password = new_password()
    user.password_hash = hash_password(password)
    record(actor, "reset_password", detail=user.username)
    db.session.flush()
    end_sessions(user)  # commits the new hash with the new session version
    return password


def set_active(user: User, active: bool, actor: User | None) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    if actor is not None and actor.id == user.id and not active:
        raise ServiceError("不能停用自己正在使用的账号。")
    user.active = bool(active)
    record(actor, "enable_user" if active else "disable_user", detail=user.username)
    db.session.flush()
    end_sessions(user)


def ensure_first_admin() -> tuple[str, str] | None:
    """Create the first administrator when there is no user; return its login once."""
    if db.session.scalar(sa.select(sa.func.count(User.id))):
        return None
    password = new_password()
    create_user("admin", password, Role.ADMIN, display_name="系统管理员")
    return "admin", password


_DUMMY_HASH = hash_password("not-a-real-password")
