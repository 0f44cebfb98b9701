"""Administrator pages: accounts and rule sets."""

from io import BytesIO

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from survey.extensions import db
from survey.models import Role, User
from survey.services import ServiceError
from survey.services.accounts import create_user
from survey.services.rulesets import ruleset_entries, ruleset_entry, upload_ruleset
from survey.web.kit import require_role

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


class RuleSetUploadForm(FlaskForm):
    file = FileField(
        "规则集文件（.toml，UTF-8 编码）",
        validators=[
            FileRequired("请选择规则集文件"),
            FileAllowed(["toml"], "只能上传 .toml 格式的规则集文件"),
        ],
    )


@bp.route("/rulesets", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def rulesets():
    form = RuleSetUploadForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            added = upload_ruleset(upload.read(), upload.filename or "", actor=current_user)
        except ServiceError as error:
            db.session.rollback()
            flash(str(error), "error")
            status = error.status
        else:
            flash(f"已添加规则集 {added.id} 版本 {added.version}。", "info")
            return redirect(url_for("admin.ruleset", key=added.id, version=added.version))
    elif form.is_submitted():
        status = 400
    return render_template("admin/rulesets.html", form=form, entries=ruleset_entries()), status


@bp.get("/rulesets/<key>/<version>")
@require_role(Role.ADMIN)
def ruleset(key: str, version: str):
    return render_template("admin/ruleset.html", entry=ruleset_entry(key, version))


@bp.get("/rulesets/<key>/<version>/file")
@require_role(Role.ADMIN)
def ruleset_file(key: str, version: str):
    entry = ruleset_entry(key, version)
    return send_file(
        BytesIO(entry.ruleset.content),
        mimetype="application/toml",
        as_attachment=True,
        download_name=entry.filename,
    )
