"""Organizer and assessor pages: sessions, subjects, groups, questionnaire, codes, open/close."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from survey.domain.questionnaire import Questionnaire
from survey.extensions import db
from survey.inputs import StrictIntegerField
from survey.models import EvalSession, GrantLevel, MeetingType, SessionState, SubjectRole
from survey.services import ServiceError, closing, roster
from survey.services import codes as code_service
from survey.services import grants as grant_service
from survey.services import sessions as session_service
from survey.services.sessions import get_for, visible_sessions
from survey.services.weights import set_group_weights
from survey.sheets import decode_text
from survey.web.kit import (
    ORGANIZERS,
    STAFF,
    Form,
    form_page,
    invalid,
    organizing,
    perform,
    refused,
    require_role,
)

bp = Blueprint("organize", __name__)

AUTO = SelectChoice("", "按测评类型自动选择")


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class SessionForm(Form):
    title = StringField("测评名称", validators=[DataRequired("请填写测评名称"), Length(max=200)])
    unit = StringField("被测评单位", validators=[Length(max=200)])
    meeting_date = DateField("测评日期", validators=[Optional()])
    meeting_type = SelectField(
        "测评类型",
        choices=[SelectChoice(t.value, t.label) for t in MeetingType],
        default="report_evaluate",
    )
    rule_set = SelectField("计分规则集", choices=[], validate_choice=True)
    questionnaire = SelectField("测评表", choices=[], validate_choice=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rule_set.choices = [AUTO, *choices(session_service.rule_set_choices())]
        self.questionnaire.choices = [AUTO, *choices(session_service.questionnaire_choices())]

    def to_input(self) -> session_service.SessionInput:
        return session_service.SessionInput(
            title=self.title.data or "",
            unit=self.unit.data or "",
            meeting_date=self.meeting_date.data,
            meeting_type=MeetingType(self.meeting_type.data),
            rule_set=self.rule_set.data or "",
            questionnaire=self.questionnaire.data or "",
        )


class CopyForm(Form):
    title = StringField("新测评名称", validators=[DataRequired("请填写测评名称"), Length(max=200)])
    meeting_date = DateField("测评日期", validators=[Optional()])


class GroupForm(Form):
    name = StringField("类别名称", validators=[DataRequired("请填写类别名称"), Length(max=100)])
    expected_count = StrictIntegerField(
        "应到人数",
        validators=[
            InputRequired("请填写应到人数"),
            NumberRange(0, session_service.MAX_EXPECTED, "应到人数应为0到10000之间的整数"),
        ],
    )
    colour = StringField("卡片颜色", validators=[Optional(), Length(max=7)])


class SubjectForm(Form):
    name = StringField(
        "姓名（或班子名称）", validators=[DataRequired("请填写姓名"), Length(max=100)]
    )
    post = StringField("职务", validators=[Length(max=200)])
    kind = SelectField(
        "类别",
        choices=[SelectChoice(k.value, k.label) for k in SubjectRole],
        default=SubjectRole.MEMBER.value,
    )


class RosterForm(Form):
    file = FileField("名单文件（.xlsx 或 .csv）", validators=[FileRequired("请选择名单文件")])
    replace = BooleanField("替换现有测评对象（不勾选则追加在后面）")


class MoveForm(Form):
    direction = HiddenField(validators=[AnyOf(["up", "down"], "无法识别的移动方向")])


class ReportForm(Form):
    text = TextAreaField("报告全文", validators=[Length(max=roster.MAX_REPORT_CHARS)])
    file = FileField("或上传文件（PDF 或 TXT）")


class TemplateForm(Form):
    key = SelectField("测评表模板", choices=[], validate_choice=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key.choices = choices(session_service.questionnaire_choices())


class ConfirmForm(Form):
    confirm = BooleanField(validators=[DataRequired("请勾选确认")])


class ActionForm(Form):
    """A button that only needs its CSRF token."""


class GrantForm(Form):
    username = StringField(
        "账号的用户名", validators=[DataRequired("请填写要授权的用户名"), Length(max=64)]
    )
    level = SelectField(
        "权限",
        choices=[
            SelectChoice(level.value, grant_service.LEVEL_LABELS[level]) for level in GrantLevel
        ],
        default=GrantLevel.ASSESS.value,
    )


def wording_form(questionnaire: Questionnaire) -> Form:
    """Build the form that rewords this questionnaire: one field per item."""

    class WordingForm(Form):
        title = StringField("测评表标题", validators=[DataRequired("请填写标题"), Length(max=200)])
        instructions = TextAreaField("填表说明", validators=[Length(max=2000)])
        comment_per_subject = BooleanField("每个测评对象后可填写意见建议")
        comment_overall = BooleanField("表末可填写总体意见建议")
        comment_max_length = StrictIntegerField(
            "意见建议字数上限",
            validators=[InputRequired("请填写字数上限"), NumberRange(1, 5000, "应在1到5000之间")],
        )

    defaults = {
        "title": questionnaire.title,
        "instructions": questionnaire.instructions,
        "comment_per_subject": questionnaire.comment_per_subject,
        "comment_overall": questionnaire.comment_overall,
        "comment_max_length": questionnaire.comment_max_length,
    }
    for number, item in enumerate(questionnaire.items, 1):
        name = f"item_{number}"
        setattr(
            WordingForm,
            name,
            StringField(
                f"第{number}项", validators=[DataRequired("请填写项目名称"), Length(max=200)]
            ),
        )
        defaults[name] = item.label
    return WordingForm(data=defaults)


# ---- helpers ------------------------------------------------------------------------------


def subject_input(form) -> "roster.SubjectInput":
    return roster.SubjectInput(form.name.data, form.post.data or "", SubjectRole(form.kind.data))


def group_input(form) -> "session_service.GroupInput":
    return session_service.GroupInput(
        form.name.data, form.expected_count.data, form.colour.data or ""
    )


# ---- session list and setup ---------------------------------------------------------------


@bp.get("/")
def index():
    return redirect(url_for("organize.sessions"))


@bp.get("/sessions")
@require_role(*STAFF)
def sessions():
    return render_template(
        "organize/sessions.html",
        sessions=visible_sessions(current_user),
        may_create=current_user.role in ORGANIZERS,
    )


@bp.route("/sessions/new", methods=["GET", "POST"])
@require_role(*ORGANIZERS)
def new_session():
    form = SessionForm()

    def page():
        return render_template("organize/session_form.html", form=form, session=None)

    return form_page(
        form,
        page,
        lambda: session_service.create_session(current_user, form.to_input()),
        lambda session: f"已创建测评“{session.title}”。下一步：添加测评对象和参评人员类别。",
        lambda session: url_for("organize.session_detail", session_id=session.id),
    )


@bp.get("/sessions/<id:session_id>")
@require_role(*STAFF)
def session_detail(session_id: int):
    return session_page(get_for(current_user, session_id, organize=False))


def session_page(session: EvalSession, grant_form=None):
    return render_template(
        "organize/session.html",
        session=session,
        grants=grant_service.session_grants(session),
        may_share=grant_service.may_share(current_user, session),
        grant_form=grant_form or GrantForm(formdata=None),
        action_form=ActionForm(formdata=None),
        may_organize=session_service.can_organize(current_user, session),
        questionnaire=session_service.questionnaire_of(session),
        counts=code_service.code_counts(session),
        progress=session_service.progress(session),
        close_status=closing.close_status(session.id),
        resume_form=ActionForm(),
        problems=session_service.opening_problems(session),
        rule_set_label=dict(session_service.rule_set_choices()).get(
            f"{session.rule_set_key}:{session.rule_set_version}"
        ),
    )


@bp.post("/sessions/<id:session_id>/grants")
@require_role(*ORGANIZERS)
def grant(session_id: int):
    session = get_for(current_user, session_id, organize=False)
    form = GrantForm()
    return perform(
        form,
        lambda: session_page(session, grant_form=form),
        lambda: grant_service.grant_session(
            session, form.username.data, form.level.data, current_user
        ),
        lambda made: (
            f"已授予“{form.username.data.strip()}”{grant_service.SHORT_LABELS[made.level]}权限。"
        ),
        url_for("organize.session_detail", session_id=session.id) + "#sharing",
    )


@bp.post("/sessions/<id:session_id>/grants/<id:user_id>/delete")
@require_role(*ORGANIZERS)
def revoke(session_id: int, user_id: int):
    session = get_for(current_user, session_id, organize=False)
    return perform(
        ActionForm(),
        lambda: session_page(session),
        lambda: grant_service.revoke_session(session, user_id, current_user),
        lambda user: f"已取消“{user.username if user else user_id}”对本测评的授权。",
        url_for("organize.session_detail", session_id=session.id) + "#sharing",
    )


@bp.route("/sessions/<id:session_id>/edit", methods=["GET", "POST"])
@organizing
def edit_session(session: EvalSession):
    form = SessionForm(obj=session)
    if not form.is_submitted():
        form.rule_set.data = f"{session.rule_set_key}:{session.rule_set_version}"

    def page():
        return render_template("organize/session_form.html", form=form, session=session)

    return form_page(
        form,
        page,
        lambda: session_service.update_session(session, form.to_input(), current_user),
        "已保存测评信息。",
        url_for("organize.session_detail", session_id=session.id),
    )


@bp.route("/sessions/<id:session_id>/copy", methods=["GET", "POST"])
@organizing
def copy_session(session: EvalSession):
    form = CopyForm(data={"title": session.title})

    def page():
        return render_template("organize/copy.html", form=form, session=session)

    return form_page(
        form,
        page,
        lambda: session_service.copy_session(
            session, current_user, form.title.data, form.meeting_date.data
        ),
        f"已从“{session.title}”复制出新测评，请核对测评对象、参评人员类别和测评表。",
        lambda copy: url_for("organize.session_detail", session_id=copy.id),
    )


# ---- subjects -----------------------------------------------------------------------------


def subjects_page(session: EvalSession, form=None, roster_form=None, roster_errors=None):
    return render_template(
        "organize/subjects.html",
        session=session,
        form=form or SubjectForm(formdata=None),
        roster_form=roster_form or RosterForm(formdata=None),
        roster_errors=roster_errors or [],
        move_form=MoveForm(formdata=None),
        action_form=ActionForm(formdata=None),
    )


@bp.route("/sessions/<id:session_id>/subjects", methods=["GET", "POST"])
@organizing
def subjects(session: EvalSession):
    form = SubjectForm()

    def page():
        return subjects_page(session, form=form)

    return form_page(
        form,
        page,
        lambda: roster.add_subject(session, subject_input(form), current_user),
        lambda subject: f"已添加测评对象“{subject.name}”。",
        url_for("organize.subjects", session_id=session.id),
    )


@bp.post("/sessions/<id:session_id>/subjects/import")
@organizing
def import_roster(session: EvalSession):
    form = RosterForm()

    def page(errors=None):
        return subjects_page(session, roster_form=form, roster_errors=errors)

    if not form.validate():
        return invalid(form, page)
    upload = form.file.data
    try:
        count = roster.import_roster(
            session,
            upload.filename or "",
            upload.read(),
            replace=form.replace.data,
            actor=current_user,
        )
    except roster.RosterError as error:
        db.session.rollback()
        flash("名单有误，未导入任何测评对象。请按下列提示修改后重新上传。", "error")
        return page(error.errors), 400
    except ServiceError as error:
        return refused(error, page)
    flash(f"已从名单导入{count}个测评对象。", "info")
    return redirect(url_for("organize.subjects", session_id=session.id))


@bp.route("/sessions/<id:session_id>/subjects/<id:subject_id>/edit", methods=["GET", "POST"])
@organizing
def edit_subject(session: EvalSession, subject_id: int):
    subject = roster.get_subject(session, subject_id)
    form = SubjectForm(
        data={"name": subject.name, "post": subject.post, "kind": subject.kind.value}
    )

    def page():
        return render_template(
            "organize/subject_form.html", session=session, subject=subject, form=form
        )

    return form_page(
        form,
        page,
        lambda: roster.update_subject(subject, subject_input(form), current_user),
        lambda _: f"已保存测评对象“{subject.name}”。",
        url_for("organize.subjects", session_id=session.id),
    )


@bp.post("/sessions/<id:session_id>/subjects/<id:subject_id>/delete")
@organizing
def delete_subject(session: EvalSession, subject_id: int):
    subject = roster.get_subject(session, subject_id)
    return perform(
        ActionForm(),
        lambda: subjects_page(session),
        lambda: roster.delete_subject(subject, current_user),
        f"已删除测评对象“{subject.name}”。",
        url_for("organize.subjects", session_id=session.id),
    )


@bp.post("/sessions/<id:session_id>/subjects/<id:subject_id>/move")
@organizing
def move_subject(session: EvalSession, subject_id: int):
    subject = roster.get_subject(session, subject_id)
    form = MoveForm()
    return perform(
        form,
        lambda: subjects_page(session),
        lambda: roster.move_subject(subject, form.direction.data, current_user),
        None,
        url_for("organize.subjects", session_id=session.id) + f"#subject-{subject.id}",
    )


@bp.route("/sessions/<id:session_id>/subjects/<id:subject_id>/report", methods=["GET", "POST"])
@organizing
def subject_report(session: EvalSession, subject_id: int):
    subject = roster.get_subject(session, subject_id)
    form = ReportForm(data={"text": subject.report_text or ""})

    def page():
        return render_template(
            "organize/report.html",
            session=session,
            subject=subject,
            form=form,
            action_form=ActionForm(formdata=None),
        )

    def save():
        upload = form.file.data
        if not (upload and upload.filename):
            return roster.set_report(subject, text=form.text.data, actor=current_user)
        data = upload.read()
        if upload.filename.lower().endswith(".pdf") or data.startswith(b"%PDF-"):
            return roster.set_report(subject, pdf=data, actor=current_user)
        return roster.set_report(subject, text=decode_text(data), actor=current_user)

    return form_page(
        form,
        page,
        save,
        f"已保存“{subject.name}”的述职报告。",
        url_for("organize.subjects", session_id=session.id),
    )


@bp.post("/sessions/<id:session_id>/subjects/<id:subject_id>/report/delete")
@organizing
def delete_report(session: EvalSession, subject_id: int):
    subject = roster.get_subject(session, subject_id)
    return perform(
        ActionForm(),
        lambda: subjects_page(session),
        lambda: roster.delete_report(subject, current_user),
        f"已删除“{subject.name}”的述职报告。",
        url_for("organize.subjects", session_id=session.id),
    )


# ---- rater groups -------------------------------------------------------------------------


def groups_page(session: EvalSession, form=None):
    next_colour = session_service.GROUP_COLOURS[
        len(session.groups) % len(session_service.GROUP_COLOURS)
    ]
    return render_template(
        "organize/groups.html",
        session=session,
        form=form or GroupForm(formdata=None, data={"colour": next_colour, "expected_count": 0}),
        action_form=ActionForm(formdata=None),
    )


@bp.route("/sessions/<id:session_id>/groups", methods=["GET", "POST"])
@organizing
def groups(session: EvalSession):
    form = GroupForm()

    def page():
        return groups_page(session, form=form)

    if not form.is_submitted():
        return groups_page(session)  # a blank form, with the next colour proposed
    return perform(
        form,
        page,
        lambda: session_service.add_group(session, group_input(form), current_user),
        lambda group: f"已添加参评人员类别“{group.name}”。",
        url_for("organize.groups", session_id=session.id),
    )


@bp.route("/sessions/<id:session_id>/groups/<id:group_id>/edit", methods=["GET", "POST"])
@organizing
def edit_group(session: EvalSession, group_id: int):
    group = session_service.get_group(session, group_id)
    form = GroupForm(obj=group)

    def page():
        return render_template("organize/group_form.html", session=session, group=group, form=form)

    return form_page(
        form,
        page,
        lambda: session_service.update_group(group, group_input(form), current_user),
        lambda _: f"已保存参评人员类别“{group.name}”。",
        url_for("organize.groups", session_id=session.id),
    )


@bp.post("/sessions/<id:session_id>/groups/weights")
@organizing
def group_weights(session: EvalSession):
    raw = {g.id: request.form.get(f"weight-{g.id}", "") for g in session.groups}
    return perform(
        ActionForm(),
        lambda: groups_page(session),
        lambda: set_group_weights(session, raw, current_user),
        "已保存参评人员类别权重。",
        url_for("organize.groups", session_id=session.id),
    )


@bp.post("/sessions/<id:session_id>/groups/<id:group_id>/delete")
@organizing
def delete_group(session: EvalSession, group_id: int):
    group = session_service.get_group(session, group_id)
    return perform(
        ActionForm(),
        lambda: groups_page(session),
        lambda: session_service.delete_group(group, current_user),
        f"已删除参评人员类别“{group.name}”。",
        url_for("organize.groups", session_id=session.id),
    )


# ---- questionnaire ------------------------------------------------------------------------


def questionnaire_page(session: EvalSession, form=None):
    questionnaire = session_service.questionnaire_of(session)
    template_form = TemplateForm(formdata=None)
    if questionnaire is not None:
        template_form.key.data = questionnaire.key
    return render_template(
        "organize/questionnaire.html",
        session=session,
        questionnaire=questionnaire,
        form=form or (wording_form(questionnaire) if questionnaire else None),
        template_form=template_form,
        kinds=list(SubjectRole),
    )


@bp.route("/sessions/<id:session_id>/questionnaire", methods=["GET", "POST"])
@organizing
def questionnaire(session: EvalSession):
    current = session_service.questionnaire_of(session)
    if request.method == "GET" or current is None:
        return questionnaire_page(session)
    form = wording_form(current)

    def page():
        return questionnaire_page(session, form=form)

    def reword():
        labels = {
            item.key: form[f"item_{number}"].data for number, item in enumerate(current.items, 1)
        }
        wording = session_service.QuestionnaireWording(
            title=form.title.data,
            instructions=form.instructions.data or "",
            item_labels=labels,
            comment_per_subject=form.comment_per_subject.data,
            comment_overall=form.comment_overall.data,
            comment_max_length=form.comment_max_length.data,
        )
        return session_service.reword_questionnaire(session, wording, current_user)

    return perform(
        form,
        page,
        reword,
        "已保存测评表。",
        url_for("organize.questionnaire", session_id=session.id),
    )


@bp.post("/sessions/<id:session_id>/questionnaire/template")
@organizing
def use_questionnaire(session: EvalSession):
    form = TemplateForm()
    return perform(
        form,
        lambda: questionnaire_page(session),
        lambda: session_service.use_questionnaire(session, form.key.data, current_user),
        "已选用测评表模板，原有的文字修改已被替换。",
        url_for("organize.questionnaire", session_id=session.id),
    )


# ---- open and close -----------------------------------------------------------------------


@bp.route("/sessions/<id:session_id>/open", methods=["GET", "POST"])
@organizing
def open_session(session: EvalSession):
    form = ConfirmForm()

    def page():
        return render_template(
            "organize/confirm_open.html",
            session=session,
            form=form,
            questionnaire=session_service.questionnaire_of(session),
            counts=code_service.code_counts(session),
            problems=session_service.opening_problems(session),
        )

    return form_page(
        form,
        page,
        lambda: session_service.open_session(session, current_user),
        "测评已开始，参评人员现在可以扫码填写测评表。",
        url_for("organize.session_detail", session_id=session.id),
    )


@bp.route("/sessions/<id:session_id>/close", methods=["GET", "POST"])
@organizing
def close_session(session: EvalSession):
    form = ConfirmForm()

    def page():
        return render_template(
            "organize/confirm_close.html",
            session=session,
            form=form,
            progress=session_service.progress(session),
        )

    def close():
        closing.begin_close(session, current_user)
        return _close_in_background(session)

    return form_page(
        form,
        page,
        close,
        lambda message: message,
        url_for("organize.session_detail", session_id=session.id),
    )


@bp.post("/sessions/<id:session_id>/close/resume")
@organizing
def resume_close(session: EvalSession):
    if not ActionForm().validate():
        flash("页面已过期，请刷新后重试。", "error")
    elif session.state == SessionState.CLOSING:
        flash(_close_in_background(session), "info")
    return redirect(url_for("organize.session_detail", session_id=session.id))


def _close_in_background(session: EvalSession) -> str:
    """Let the close run in the background; say so at once, or that it is done."""
    status = closing.close_from_web(
        current_app._get_current_object(),
        session.id,
        current_user.id,
        current_app.config.get("CLOSE_WAIT_SECONDS", 5),
    )
    if status.state == SessionState.CLOSED:
        return f"测评已结束，共收回测评表{session_service.progress(session).submitted}张。"
    return "测评正在结束，已停止接收测评表；本页会自动刷新，完成后即可查看结果。"


# ---- audit log ----------------------------------------------------------------------------


@bp.get("/sessions/<id:session_id>/audit")
@organizing
def audit(session: EvalSession):
    return render_template(
        "organize/audit.html", session=session, entries=session_service.audit_log(session)
    )
