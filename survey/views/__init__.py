"""Blueprints and the request-wide hooks: errors, roles, read-only transactions."""

from functools import wraps

from flask import Flask, abort, flash, g, make_response, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from survey.compression import init_compression
from survey.domain.numbers import format_decimal, format_fixed
from survey.extensions import db, write_intent
from survey.services import ServiceError

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_role(*roles):
    """Let only logged-in users with one of these roles through; others get 403."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                from survey.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def refused(error: ServiceError, page):
    """Undo the transaction, show the reason on the page and answer with its 4xx status."""
    db.session.rollback()
    flash(str(error), "error")
    response = make_response(page())
    response.status_code = error.status
    return response


def register_views(app: Flask) -> None:
    from survey.views import (
        admin,
        auth,
        inquiry,
        ops,
        organize,
        paper,
        results,
        screen,
        seasons,
        vote,
    )

    for blueprint in (
        auth.bp,
        organize.bp,
        admin.bp,
        vote.bp,
        paper.bp,
        screen.bp,
        results.bp,
        seasons.bp,
        inquiry.bp,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(ops.bp)
    app.add_template_filter(decimal_text, "decimal")

    @app.before_request
    def declare_write_intent():
        g.write_intent_token = write_intent.set(request.method not in READ_ONLY_METHODS)

    @app.teardown_request
    def forget_write_intent(_error):
        # Threads serve many requests: leave the next one the default.
        token = g.pop("write_intent_token", None)
        if token is not None:
            write_intent.reset(token)

    init_compression(app)  # registered before the headers' hook, so it runs after it

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return render_template("errors/error.html", message=str(error)), error.status

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        message = "页面已过期或请求来源无法验证，请返回上一页刷新后重试。"
        return render_template("errors/error.html", message=message), 400

    for status, message in {
        400: "请求无法处理，请检查填写的内容。",
        403: "您没有访问此页面的权限。",
        404: "页面不存在。",
        405: "不支持此操作。",
        413: "上传的内容过大。",
    }.items():
        app.register_error_handler(status, _simple_error(status, message))

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return render_template("errors/error.html", message="服务器内部错误，请稍后重试。"), 500


def decimal_text(value, places: int | None = None) -> str:
    """Show an exact number as a decimal; with places, rounded half up to that many."""
    if places is None:
        return format_decimal(value)
    return format_fixed(value, places)


def _simple_error(status: int, message: str):
    def handler(_error):
        return render_template("errors/error.html", message=message), status

    return handler
