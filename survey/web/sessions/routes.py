"""Organizer and assessor pages: sessions, subjects, groups, questionnaire, codes, open/close."""

from collections.abc import Callable
from dataclasses import dataclass

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
    ActionForm,
    Form,
    form_page,
    invalid,
    loading,
    organizing,
    page_of,
    perform,
    posts,
    refused,
    require_role,
    shown,
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

    def to_input(self) -> session_service.GroupInput:
        return session_service.GroupInput(
            self.name.data, self.expected_count.data, self.colour.data or ""
        )


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

    def to_input(self) -> roster.SubjectInput:
        kind = SubjectRole(self.kind.data)
        return roster.SubjectInput(self.name.data, self.post.data or "", kind)


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


# The session in the URL for an organizer who may only be sharing it: the grant service checks.
sharing = loading(
    "session_id", lambda user, session_id: get_for(user, session_id, organize=False), *ORGANIZERS
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
    return form_page(
        form,
        shown("organize/session_form.html", form=form, session=None),
        lambda: session_service.create_session(current_user, form.to_input()),
        back=lambda session: url_for("organize.session_detail", session_id=session.id),
        done=lambda session: f"已创建测评“{session.title}”。下一步：添加测评对象和参评人员类别。",
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


share = posts(
    bp,
    sharing,
    lambda session, form: session_page(session, grant_form=form),
    page_of("organize.session_detail", anchor="#sharing"),
)


@share("/sessions/<id:session_id>/grants", form=GrantForm)
def grant(session: EvalSession, form: GrantForm):
    made = grant_service.grant_session(session, form.username.data, form.level.data, current_user)
    return f"已授予“{form.username.data.strip()}”{grant_service.SHORT_LABELS[made.level]}权限。"


@share(
    "/sessions/<id:session_id>/grants/<id:user_id>/delete",
    page=lambda session, form, user_id: session_page(session),
)
def revoke(session: EvalSession, form, user_id: int):
    user = grant_service.revoke_session(session, user_id, current_user)
    return f"已取消“{user.username if user else user_id}”对本测评的授权。"


@bp.route("/sessions/<id:session_id>/edit", methods=["GET", "POST"])
@organizing
def edit_session(session: EvalSession):
    form = SessionForm(obj=session)
    if not form.is_submitted():
        form.rule_set.data = f"{session.rule_set_key}:{session.rule_set_version}"

    def save():
        session_service.update_session(session, form.to_input(), current_user)
        return "已保存测评信息。"

    page = shown("organize/session_form.html", form=form, session=session)
    return form_page(form, page, save, url_for("organize.session_detail", session_id=session.id))


@bp.route("/sessions/<id:session_id>/copy", methods=["GET", "POST"])
@organizing
def copy_session(session: EvalSession):
    form = CopyForm(data={"title": session.title})
    return form_page(
        form,
        shown("organize/copy.html", form=form, session=session),
        lambda: session_service.copy_session(
            session, current_user, form.title.data, form.meeting_date.data
        ),
        back=lambda copy: url_for("organize.session_detail", session_id=copy.id),
        done=f"已从“{session.title}”复制出新测评，请核对测评对象、参评人员类别和测评表。",
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


on_subjects = posts(
    bp, organizing, lambda session, form, **_: subjects_page(session), page_of("organize.subjects")
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


@on_subjects(
    "/sessions/<id:session_id>/subjects/<id:subject_id>/move",
    form=MoveForm,
    back=lambda session, subject_id: (
        url_for("organize.subjects", session_id=session.id) + f"#subject-{subject_id}"
    ),
)
def move_subject(session: EvalSession, form: MoveForm, subject_id: int):
    roster.move_subject(roster.get_subject(session, subject_id), form.direction.data, current_user)


@bp.route("/sessions/<id:session_id>/subjects/<id:subject_id>/report", methods=["GET", "POST"])
@organizing
def subject_report(session: EvalSession, subject_id: int):
    subject = roster.get_subject(session, subject_id)
    form = ReportForm(data={"text": subject.report_text or ""})

    page = shown(
        "organize/report.html",
        session=session,
        subject=subject,
        form=form,
        action_form=ActionForm(formdata=None),
    )

    def save():
        upload = form.file.data
        if not (upload and upload.filename):
            roster.set_report(subject, text=form.text.data, actor=current_user)
        else:
            data = upload.read()
            if upload.filename.lower().endswith(".pdf") or data.startswith(b"%PDF-"):
                roster.set_report(subject, pdf=data, actor=current_user)
            else:
                roster.set_report(subject, text=decode_text(data), actor=current_user)
        return f"已保存“{subject.name}”的述职报告。"

    return form_page(form, page, save, url_for("organize.subjects", session_id=session.id))


@on_subjects("/sessions/<id:session_id>/subjects/<id:subject_id>/report/delete")
def delete_report(session: EvalSession, form, subject_id: int):
    subject = roster.get_subject(session, subject_id)
    roster.delete_report(subject, current_user)
    return f"已删除“{subject.name}”的述职报告。"


# ---- rater groups -------------------------------------------------------------------------


def groups_page(session: EvalSession, form=None):
    """The groups and the form adding one: the one posted, or a blank one (GET, or after a
    button's refusal) proposing the next colour."""
    if form is None or not form.is_submitted():
        colour = session_service.GROUP_COLOURS[
            len(session.groups) % len(session_service.GROUP_COLOURS)
        ]
        form = GroupForm(formdata=None, data={"colour": colour, "expected_count": 0})
    return render_template(
        "organize/groups.html",
        session=session,
        form=form,
        action_form=ActionForm(formdata=None),
    )


on_groups = posts(
    bp, organizing, lambda session, form, **_: groups_page(session), page_of("organize.groups")
)


@on_groups("/sessions/<id:session_id>/groups/weights")
def group_weights(session: EvalSession, form):
    raw = {g.id: request.form.get(f"weight-{g.id}", "") for g in session.groups}
    set_group_weights(session, raw, current_user)
    return "已保存参评人员类别权重。"


# ---- the setup lists: subjects and rater groups alike ------------------------------------


@dataclass(frozen=True)
class SetupList:
    """A list the organizer fills in before the session opens: its subjects, its rater groups.

    A row is added on the list's page (`/sessions/<id>/subjects`, endpoint `subjects`), edited
    on a page of its own (`…/<id:subject_id>/edit`, `edit_subject`, template
    `organize/subject_form.html`) and deleted by a button (`…/delete`, `delete_subject`); every
    message names the row. The services are the list's own (`roster`, `sessions`).
    """

    name: str  # "subject": names the URLs, endpoints and template as above
    noun: str  # what the messages call a row
    form: type[Form]  # with to_input(): what the services take
    get: Callable  # (session, id) → the row, or 404
    add: Callable  # (session, input, actor) → the new row
    update: Callable  # (row, input, actor)
    delete: Callable  # (row, actor)
    page: Callable  # (session, form=None) → the list's page


def serve_list(listed: SetupList, post) -> None:
    """Register the list's page and the adding, editing and deleting of its rows; `post` is
    the list's `posts`."""
    name, key, noun = listed.name, f"{listed.name}_id", listed.noun
    rows = f"/sessions/<id:session_id>/{name}s"

    def add(session: EvalSession, form):
        row = listed.add(session, form.to_input(), current_user)
        return f"已添加{noun}“{row.name}”。"

    def edit(session: EvalSession, **url):
        row = listed.get(session, url[key])
        form = listed.form(obj=row)

        def save():
            listed.update(row, form.to_input(), current_user)
            return f"已保存{noun}“{row.name}”。"

        page = shown(f"organize/{name}_form.html", session=session, form=form, **{name: row})
        return form_page(form, page, save, url_for(f"organize.{name}s", session_id=session.id))

    def delete(session: EvalSession, form, **url):
        row = listed.get(session, url[key])
        listed.delete(row, current_user)
        return f"已删除{noun}“{row.name}”。"

    post(
        rows,
        form=listed.form,
        page=lambda session, form: listed.page(session, form=form),
        shows=True,
        endpoint=f"{name}s",
    )(add)
    edit.__name__ = f"edit_{name}"
    methods = ["GET", "POST"]
    bp.add_url_rule(f"{rows}/<id:{key}>/edit", edit.__name__, organizing(edit), methods=methods)
    post(f"{rows}/<id:{key}>/delete", endpoint=f"delete_{name}")(delete)


serve_list(
    SetupList(
        name="subject",
        noun="测评对象",
        form=SubjectForm,
        get=roster.get_subject,
        add=roster.add_subject,
        update=roster.update_subject,
        delete=roster.delete_subject,
        page=subjects_page,
    ),
    on_subjects,
)
serve_list(
    SetupList(
        name="group",
        noun="参评人员类别",
        form=GroupForm,
        get=session_service.get_group,
        add=session_service.add_group,
        update=session_service.update_group,
        delete=session_service.delete_group,
        page=groups_page,
    ),
    on_groups,
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
        session_service.reword_questionnaire(session, wording, current_user)
        return "已保存测评表。"

    return perform(form, page, reword, url_for("organize.questionnaire", session_id=session.id))


@posts(
    bp,
    organizing,
    lambda session, form: questionnaire_page(session),
    page_of("organize.questionnaire"),
)("/sessions/<id:session_id>/questionnaire/template", form=TemplateForm)
def use_questionnaire(session: EvalSession, form: TemplateForm):
    session_service.use_questionnaire(session, form.key.data, current_user)
    return "已选用测评表模板，原有的文字修改已被替换。"


# ---- open and close -----------------------------------------------------------------------


def confirm_page(template: str, **figures):
    """The page that asks to confirm opening or closing: the session, the box to tick and
    these figures of the session (each a function of it)."""

    def page(session: EvalSession, form: ConfirmForm):
        shown = {name: figure(session) for name, figure in figures.items()}
        return render_template(template, session=session, form=form, **shown)

    return page


# Opening and closing are confirmed on a page of their own, then back to the session's page.
confirmed = posts(bp, organizing, None, page_of("organize.session_detail"))


@confirmed(
    "/sessions/<id:session_id>/open",
    form=ConfirmForm,
    page=confirm_page(
        "organize/confirm_open.html",
        questionnaire=session_service.questionnaire_of,
        counts=code_service.code_counts,
        problems=session_service.opening_problems,
    ),
    shows=True,
)
def open_session(session: EvalSession, form: ConfirmForm):
    session_service.open_session(session, current_user)
    return "测评已开始，参评人员现在可以扫码填写测评表。"


@confirmed(
    "/sessions/<id:session_id>/close",
    form=ConfirmForm,
    page=confirm_page("organize/confirm_close.html", progress=session_service.progress),
    shows=True,
)
def close_session(session: EvalSession, form: ConfirmForm):
    closing.begin_close(session, current_user)
    return _close_in_background(session)


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
