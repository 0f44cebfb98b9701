"""Ballot codes of a session: issue a batch per rater group, void lost cards, print cards."""

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from wtforms import BooleanField, HiddenField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from survey.inputs import StrictIntegerField, strict_int
from survey.models import EvalSession
from survey.reports.cards import CardGroup, render_cards
from survey.services import NotFound, ServiceError
from survey.services import codes as code_service
from survey.services import sessions as session_service
from survey.web.downloads import send_download
from survey.web.kit import Form, invalid, organizing, page_of, posts, refused

bp = Blueprint("codes", __name__, url_prefix="/sessions/<id:session_id>/codes")


class IssueForm(Form):
    group_id = HiddenField(validators=[DataRequired()])
    count = StrictIntegerField(
        "发放数量",
        validators=[
            InputRequired("请填写发放数量"),
            NumberRange(1, code_service.MAX_CODES_PER_BATCH, "数量应在1到2000之间"),
        ],
    )


class VoidForm(Form):
    codes = TextAreaField("要作废的测评码（每行一个）", validators=[DataRequired("请输入测评码")])
    confirm = BooleanField("确认作废，作废后不能恢复", validators=[DataRequired("请勾选确认")])


class CardsForm(Form):
    group_id = HiddenField()


def group_named(session: EvalSession, raw: str | None):
    """Return the session's group whose id a form sent, or 404."""
    group_id = strict_int(raw)
    if group_id is None:
        raise NotFound("参评人员类别不存在。")
    return session_service.get_group(session, group_id)


def codes_page(session: EvalSession, void_form=None):
    counts = code_service.code_counts(session)
    issue_forms = {
        c.group.id: IssueForm(
            formdata=None,
            data={"group_id": c.group.id, "count": max(c.group.expected_count - c.issued, 1)},
        )
        for c in counts
    }
    return render_template(
        "organize/codes.html",
        session=session,
        counts=counts,
        issue_forms=issue_forms,
        void_form=void_form or VoidForm(formdata=None),
        cards_form=CardsForm(formdata=None),
    )


@bp.get("")
@organizing
def codes(session: EvalSession):
    return codes_page(session)


on_codes = posts(bp, organizing, lambda session, form: codes_page(session), page_of("codes.codes"))


@on_codes("/issue", form=IssueForm)
def issue_codes(session: EvalSession, form: IssueForm):
    group = group_named(session, form.group_id.data)
    issued = code_service.issue_codes(group, form.count.data, current_user)
    return f"已为“{group.name}”发放{len(issued)}个测评码，可下载卡片打印。"


@on_codes("/void", form=VoidForm, page=lambda session, form: codes_page(session, void_form=form))
def void_codes(session: EvalSession, form: VoidForm):
    count = code_service.void_codes(session, form.codes.data, current_user)
    return f"已作废{count}个测评码。"


@bp.post("/cards")
@organizing
def download_cards(session: EvalSession):
    form = CardsForm()
    if not form.validate():
        return invalid(form, lambda: codes_page(session))
    group = group_named(session, form.group_id.data) if form.group_id.data else None
    try:
        batches = code_service.unused_codes_to_print(session, current_user, group)
    except ServiceError as error:
        return refused(error, lambda: codes_page(session))
    pdf = render_cards(
        session.title,
        [CardGroup(each.name, each.colour, codes) for each, codes in batches],
        current_app.config["PUBLIC_BASE_URL"],
    )
    suffix = f"-{group.name}" if group else ""
    # The codes are secrets until used: send_download keeps the file out of every cache.
    return send_download(
        pdf,
        f"测评{session.id}-测评码卡片{suffix}.pdf",
        f"session-{session.id}-ballot-cards" + (f"-group-{group.id}" if group else "") + ".pdf",
        "application/pdf",
    )
