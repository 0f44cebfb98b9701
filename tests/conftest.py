"""Fixtures shared by every test: an app on SQLite or, with TEST_DATABASE_URL, PostgreSQL."""

import os
import re
import uuid
from dataclasses import dataclass

import pytest
from flask import has_app_context
from flask.testing import FlaskClient

from survey import create_app
from survey.extensions import db
from survey.models import EvalSession, Role, User
from survey.security import hash_password
from survey.services.demo import create_demo

TEST_PASSWORD = "correct horse battery"
IN_CI = os.environ.get("CI", "").lower() == "true"


def requirement_missing(message: str):
    """Skip when a real part is missing on a developer machine; fail under CI=true."""
    if IN_CI:
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("instance")
    os.environ["SURVEY_INSTANCE_PATH"] = str(path)
    return path


@pytest.fixture(scope="session")
def database_url(instance_dir):
    """The database every test shares, migrated from empty once per run."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance_dir / 'test.sqlite'}"
    app = create_app(_test_config(url))
    with app.app_context():
        _reset_schema()
        from flask_migrate import upgrade

        upgrade()
    return url


def _test_config(url: str) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret",
        "BALLOT_CODE_KEY": "test-ballot-key",
        "PUBLIC_BASE_URL": "http://vote.example.test",
    }


def _reset_schema() -> None:
    """Start from an empty database, whatever an earlier run left behind."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    else:
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


class IsolatedClient(FlaskClient):
    """Run each request in its own app context, as a server would.

    The test itself holds an app context for direct database access; without this, requests
    would share its `g` (and the logged-in user cached there) and its database session.
    """

    def open(self, *args, **kwargs):
        # End the test's own transaction, so it neither holds a stale snapshot (SQLite would
        # refuse its next write) nor misses what the request commits.
        if has_app_context():
            db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url):
    app = create_app(_test_config(database_url))
    app.test_client_class = IsolatedClient
    # The same locking as production: the test's own transactions take SQLite's write lock
    # up front like a CLI command does; IsolatedClient ends them before every request.
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    def make(username: str | None = None, role: Role = Role.ORGANIZER) -> User:
        user = User(
            username=username or f"user-{uuid.uuid4().hex[:8]}",
            password_hash=hash_password(TEST_PASSWORD),
            role=role,
            display_name="测试用户",
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client, username: str, password: str = TEST_PASSWORD):
    page = client.get("/login")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def logged_in(client, make_user):
    """Log a new user of the given role in and return it."""

    def log_in(role: Role = Role.ORGANIZER) -> User:
        user = make_user(role=role)
        response = login(client, user.username)
        assert response.status_code == 302
        return user

    return log_in


@pytest.fixture
def engine_name(app) -> str:
    return db.engine.dialect.name


@dataclass
class OpenSession:
    session: EvalSession
    codes: list[str]
    organizer: str
    password: str


@pytest.fixture
def open_session(app) -> OpenSession:
    demo = create_demo(codes_per_group=30)
    db.session.commit()  # what the `survey demo` command's end does
    session = db.session.get(EvalSession, demo.session_id)
    codes = [code for group in demo.codes.values() for code in group]
    return OpenSession(session, codes, demo.username, demo.password)
