"""Administrator pages: accounts (create, reset, disable, role, name) and rule sets."""

from io import BytesIO

import sqlalchemy as sa
from flask import Blueprint, flash, make_response, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length

from survey.clock import in_beijing
from survey.extensions import db
from survey.models import AuditEntry, Role
from survey.services import ServiceError
from survey.services import accounts as account_service
from survey.services.audit import action_label
from survey.services.rulesets import ruleset_entries, ruleset_entry, upload_ruleset
from survey.web.kit import (
    ActionForm,
    Form,
    form_page,
    invalid,
    perform,
    refused,
    require_role,
    shown,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]
ACCOUNT_ACTIONS = (
    "create_user",
    "reset_password",
    "disable_user",
    "enable_user",
    "change_role",
    "rename_user",
)


class UserForm(Form):
    username = StringField(
        "用户名（登录用）", validators=[DataRequired("请输入用户名"), Length(max=64)]
    )
    display_name = StringField("姓名", validators=[Length(max=64)])
    role = SelectField("角色", choices=ROLE_CHOICES, default=Role.ASSESSOR.value)


class EditUserForm(Form):
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=64)])
    role = SelectField("角色", choices=ROLE_CHOICES)


class ActiveForm(Form):
    active = HiddenField(validators=[AnyOf(["1", "0"], "无法识别的操作")])


def password_page(user, password: str, created: bool):
    """Show a new password exactly once: rendered in the POST's answer, never stored or cached."""
    response = make_response(
        render_template("admin/password.html", account=user, password=password, created=created)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def users_page(form=None):
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action.in_(ACCOUNT_ACTIONS))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(30)
    )
    return render_template(
        "admin/users.html",
        form=form or UserForm(formdata=None),
        users=account_service.all_users(),
        active_form=ActiveForm(formdata=None),
        reset_form=ActionForm(formdata=None),
        entries=entries,
        action_label=action_label,
        in_beijing=in_beijing,
    )


@bp.route("/users", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def users():
    form = UserForm()
    if not form.is_submitted():
        return users_page(form)
    if not form.validate():
        return invalid(form, lambda: users_page(form))
    try:
        user, password = account_service.create_with_new_password(
            form.username.data, Role(form.role.data), form.display_name.data or "", current_user
        )
    except ServiceError as error:
        return refused(error, lambda: users_page(form))
    return password_page(user, password, created=True)


@bp.post("/users/<id:user_id>/password")
@require_role(Role.ADMIN)
def reset_password(user_id: int):
    user = account_service.get_user(user_id)
    if not ActionForm().validate():
        return users_page(), 400
    password = account_service.reset_password(user, current_user)
    return password_page(user, password, created=False)


@bp.post("/users/<id:user_id>/active")
@require_role(Role.ADMIN)
def set_active(user_id: int):
    user = account_service.get_user(user_id)
    form = ActiveForm()

    def switch():
        account_service.set_active(user, form.active.data == "1", current_user)
        return f"已{'启用' if user.active else '停用'}账号“{user.username}”。"

    return perform(form, users_page, switch, url_for("admin.users"))


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def edit_user(user_id: int):
    user = account_service.get_user(user_id)
    form = EditUserForm(data={"display_name": user.display_name, "role": user.role.value})

    def save():
        # The role is the change that may be refused: try it before the name.
        account_service.change_role(user, Role(form.role.data), current_user)
        account_service.rename(user, form.display_name.data, current_user)
        return f"已保存账号“{user.username}”。"

    page = shown("admin/user.html", form=form, account=user)
    return form_page(form, page, save, url_for("admin.users"))


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
