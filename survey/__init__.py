"""民主测评平台: anonymous democratic evaluation of leadership teams, end to end."""

from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: settings, database, accounts, pages."""
    import os

    from survey.config import load_settings

    app = Flask(
        __name__,
        instance_path=os.environ.get("SURVEY_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    load_settings(app, test_config)
    from survey.inputs import CleanRequest, IdConverter, TextConverter

    # Before any route is added: every <id:...> is a strict id, every <text> part and every
    # form value free of control characters.
    app.request_class = CleanRequest
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter
    _init_extensions(app)

    from survey.cli import register_commands
    from survey.web import register_views
    from survey.web.headers import init_security_headers
    from survey.web.proxies import init_proxies
    from survey.web.redaction import install as redact_logs

    register_views(app)
    init_security_headers(app)
    init_proxies(app)
    register_commands(app)
    redact_logs(app)
    return app


def _init_extensions(app: Flask) -> None:
    from survey.extensions import configure_sqlite, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
