"""The web layer: one package per area, and the request-wide hooks (errors, transactions)."""

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError

from survey.domain.numbers import format_decimal, format_fixed
from survey.extensions import db, write_intent
from survey.services import ServiceError
from survey.web.compression import init_compression

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def register_views(app: Flask) -> None:
    from survey.web import (
        admin,
        auth,
        codes,
        inquiries,
        ops,
        paper,
        people,
        rectification,
        results,
        screen,
        seasons,
        sessions,
        vote,
    )

    areas = (auth, admin, sessions, codes, vote, paper, screen, results, seasons, inquiries)
    for area in (*areas, rectification, people, ops):
        app.register_blueprint(area.bp)
    vote.install_fast_path(app)  # a phone's ordinary GET and POST skip Flask's machinery
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

    @app.after_request
    def end_transaction(response):
        """The request is the transaction: services only flush; here it commits or rolls back.

        A refusal (4xx) keeps nothing of what the request began. A few operations own their
        transaction and have committed already: the ballot's cast, the close's steps, the
        failed-attempt counters (they must outlive the 4xx they cause), a download's audit line.
        """
        if db.session.registry.has():
            session = db.session()
            if session.in_transaction() and response.status_code < 400:
                session.commit()
            elif session.in_transaction():
                session.rollback()
        return response

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
