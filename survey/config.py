"""Settings: defaults, then instance/config.py, then environment variables."""

import os
import secrets
import socket
from pathlib import Path

ENV_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "PUBLIC_BASE_URL", "BALLOT_CODE_KEY")


class Defaults:
    """Values used when neither instance/config.py nor the environment sets them."""

    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    WTF_CSRF_TIME_LIMIT = None  # a meeting can last all afternoon; the token lives with the login
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024  # roster files and report PDFs; ballots are far smaller
    # A rater group with fewer ballots than this is never shown on its own (never below 3).
    MIN_GROUP_SIZE = 5
    DEMO_CODES_PER_GROUP = 10


def load_settings(app, test_config: dict | None) -> None:
    """Fill app.config in the documented order and make the secrets the deployment lacks."""
    app.config.from_object(Defaults)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_pyfile("config.py", silent=True)
    for name in ENV_SETTINGS:
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if test_config:
        app.config.update(test_config)

    app.config.setdefault("DATABASE_URL", f"sqlite:///{instance / 'survey.sqlite'}")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["DATABASE_URL"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(instance / "secret_key")
    if not app.config.get("BALLOT_CODE_KEY"):
        # Kept apart from the database so that a leaked database yields no usable codes;
        # several app servers must share this file (see README, 部署).
        app.config["BALLOT_CODE_KEY"] = instance_secret(instance / "ballot_code_key")
    if not app.config.get("PUBLIC_BASE_URL"):
        port = os.environ.get("PORT") or app.config.get("PORT", 5000)
        app.config["PUBLIC_BASE_URL"] = f"http://{lan_address()}:{port}"
    app.config["PUBLIC_BASE_URL"] = app.config["PUBLIC_BASE_URL"].rstrip("/")


def normalise_database_url(url: str) -> str:
    """Map the usual postgres:// spellings onto SQLAlchemy's psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret(path: Path) -> str:
    """Read a secret from the instance folder, creating it (owner-only) on first run."""
    if not path.exists():
        write_once(path, secrets.token_hex(32).encode())
    return path.read_text().strip()


def write_once(path: Path, data: bytes) -> None:
    """Create an owner-only file unless it exists; a concurrent first writer wins.

    Written aside, then linked into place: a worker starting at the same moment sees either
    no file or the whole content, never half of it.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def lan_address() -> str:
    """Guess the address phones on the hall's Wi-Fi can reach; sends no packet."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()
