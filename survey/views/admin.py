"""Administrator pages: accounts."""

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from survey.extensions import db
from survey.models import Role, User
from survey.services import ServiceError
from survey.services.accounts import create_user
from survey.views import require_role

bp = Blueprint("admin", __name__, url_prefix="/admin")


class UserForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    display_name = StringField("姓名", validators=[Length(max=64)])
    password = PasswordField("初始密码", validators=[DataRequired("请输入密码"), Length(max=256)])
    role = SelectField("角色", choices=[SelectChoice(r.value, r.label) for r in Role])


@bp.route("/users", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def users():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.username.data,
                form.password.data,
                Role(form.role.data),
                form.display_name.data or "",
                actor=current_user,
            )
        except ServiceError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            flash(f"已创建用户“{user.username}”。", "info")
            return redirect(url_for("admin.users"))
    accounts = db.session.scalars(sa.select(User).order_by(User.id))
    return render_template("admin/users.html", form=form, users=accounts)
