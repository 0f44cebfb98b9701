"""整改: the feedback of a closed session becomes items with deadlines; the organizer records
each item's report; overdue items and written answers are listed for follow-up."""

from flask import Blueprint, render_template, url_for
from flask_login import current_user
from wtforms import DateField, TextAreaField
from wtforms.validators import Optional

from survey.clock import today
from survey.models import EvalSession, SessionState
from survey.services import rectification as rectification_service
from survey.services.inquiries import overdue_inquiries
from survey.services.roster import get_subject
from survey.services.sessions import can_organize, get_for
from survey.web.kit import STAFF, Form, organizing, posts, require_role

bp = Blueprint("rectification", __name__)


class ItemForm(Form):
    issue = TextAreaField("整改事项")
    due_on = DateField("整改期限", validators=[Optional()])


class ReportForm(Form):
    report = TextAreaField("整改情况")


@bp.get("/sessions/<id:session_id>/rectification")
@require_role(*STAFF)
def items(session_id: int):
    session = get_for(current_user, session_id, organize=False)
    found = rectification_service.items_of(session)
    return render_template(
        "rectification/items.html",
        session=session,
        items=found,
        counts={s.id: sum(1 for i in found if i.subject_id == s.id) for s in session.subjects},
        closed=session.state == SessionState.CLOSED,
        is_overdue=rectification_service.is_overdue,
    )


def subject_page(session: EvalSession, subject_id: int, form: ItemForm | None = None):
    subject = get_subject(session, subject_id)
    closed = session.state == SessionState.CLOSED
    return render_template(
        "rectification/subject.html",
        session=session,
        subject=subject,
        feedback=rectification_service.feedback(session, subject) if closed else [],
        items=rectification_service.items_of(session, subject),
        may_organize=can_organize(current_user, session),
        closed=closed,
        is_overdue=rectification_service.is_overdue,
        form=form or ItemForm(formdata=None),
        report_form=ReportForm(formdata=None),
    )


@bp.get("/sessions/<id:session_id>/rectification/<id:subject_id>")
@require_role(*STAFF)
def subject(session_id: int, subject_id: int):
    return subject_page(get_for(current_user, session_id, organize=False), subject_id)


# Both posts record something on a subject's page, and go back to it.
recorded = posts(
    bp,
    organizing,
    lambda session, form, subject, **_: subject_page(session, subject.id),
    lambda session, subject, **_: url_for(
        "rectification.subject", session_id=session.id, subject_id=subject.id
    ),
)


@recorded(
    "/sessions/<id:session_id>/rectification/<id:subject_id>",
    form=ItemForm,
    page=lambda session, form, subject: subject_page(session, subject.id, form),
    load=lambda session, subject_id: {"subject": get_subject(session, subject_id)},
)
def add_item(session: EvalSession, form: ItemForm, subject):
    rectification_service.add_item(
        session, subject, form.issue.data or "", form.due_on.data, current_user
    )
    return "已登记整改事项。"


def item_and_subject(session: EvalSession, item_id: int) -> dict:
    item = rectification_service.get_item(session, item_id)
    return {"item_id": item.id, "subject": get_subject(session, item.subject_id)}


@recorded(
    "/sessions/<id:session_id>/rectification/items/<id:item_id>/report",
    form=ReportForm,
    load=item_and_subject,
)
def report(session: EvalSession, form: ReportForm, item_id: int, subject):
    rectification_service.record_report(session, item_id, form.report.data or "", current_user)
    return "已登记整改情况。"


@bp.get("/rectification/overdue")
@require_role(*STAFF)
def overdue():
    return render_template(
        "rectification/overdue.html",
        items=rectification_service.overdue_items(current_user),
        inquiries=overdue_inquiries(current_user),
        today=today(),
    )
