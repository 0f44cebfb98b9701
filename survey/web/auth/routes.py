"""Log in and out."""

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from survey.extensions import db, login_manager
from survey.inputs import safe_next, strict_int
from survey.models import User
from survey.services import login_throttle
from survey.services.accounts import authenticate, end_sessions

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Accept a login session only while its account is active and its version current."""
    user_id, _, version = session_id.partition(".")
    user_id, version = strict_int(user_id), strict_int(version)
    if user_id is None or version is None:
        return None  # also every session stored before versions existed: log in again
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=256)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("organize.sessions"))
    form = LoginForm()
    if form.validate_on_submit():
        wait = login_throttle.wait_minutes(form.username.data)
        if wait:
            flash(login_throttle.refusal_message(wait), "error")
            response = make_response(render_template("auth/login.html", form=form), 429)
            response.headers["Retry-After"] = str(wait * 60)
            return response
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        login_throttle.record_failure(form.username.data)
        flash("用户名或密码错误。", "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    # Every session of the account ends, including a copy of this cookie kept elsewhere.
    end_sessions(current_user._get_current_object())
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Follow ?next= only to a plain path within this site."""
    return safe_next(target) or url_for("organize.sessions")
