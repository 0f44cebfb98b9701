"""质询: the attendee's phone page (/q) and the organizer's moderation, screen and answers."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from survey.clock import today
from survey.extensions import csrf, db
from survey.inputs import strict_int
from survey.models import AnswerMode, EvalSession
from survey.security import canonical_code, display_code
from survey.services import ServiceError, ratelimit
from survey.services import inquiries as inquiry_service
from survey.services.sessions import can_organize, get_for
from survey.web.kit import STAFF, Form, organizing, page_of, posts, require_role

bp = Blueprint("inquiry", __name__)


class PhoneForm(Form):
    """An attendee's post: no login session to tie a CSRF token to; the code is the secret."""

    class Meta:
        csrf = False

    code = StringField(filters=[lambda typed: (typed or "")[:64]])


class QuestionForm(PhoneForm):
    text = TextAreaField()
    subject = StringField()


class ScreenForm(Form):
    show = SelectMultipleField(choices=[], validate_choice=False)


class ModeForm(Form):
    mode = SelectField(choices=[SelectChoice(m.value, m.label) for m in AnswerMode])


class AnswerForm(Form):
    answer = TextAreaField()


MAX_FORM_BYTES = 16 * 1024
PHONE_ENDPOINTS = frozenset({"inquiry.enter", "inquiry.ask", "inquiry.sent"})


@bp.after_request
def private_phone_page(response):
    # Like the ballot: nothing of a question may stay in a cache or leak through Referer.
    if request.endpoint in PHONE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _check_request() -> None:
    """Refuse oversized posts, posts from other sites, and networks guessing codes."""
    if request.content_length and request.content_length > MAX_FORM_BYTES:
        abort(413)
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if origin and origin != "null":
        allowed = {request.host, urlsplit(current_app.config["PUBLIC_BASE_URL"]).netloc}
        if urlsplit(origin).netloc not in allowed:
            abort(403)


def _throttled():
    if ratelimit.is_throttled():
        html = render_template("vote/too_many.html")
        return html, 429, {"Retry-After": str(ratelimit.RETRY_AFTER_SECONDS)}
    return None


def _refused(error: inquiry_service.InquiryRefused):
    db.session.rollback()
    if error.unknown:
        ratelimit.record_failure()
    return render_template("inquiry/enter.html", error=str(error)), error.status


def _question_page(typed: str, error: str | None = None, text: str = "", subject_id=None):
    _, session = inquiry_service.session_for_code(typed)
    return render_template(
        "inquiry/ask.html",
        session=session,
        code=display_code(canonical_code(typed)),
        left=inquiry_service.questions_left(typed),
        error=error,
        text=text,
        subject_id=subject_id,
        max_text=inquiry_service.MAX_TEXT,
    )


@bp.route("/q", methods=["GET", "POST"])
@csrf.exempt  # an attendee has no login session; forgery is stopped by the code itself
def enter():
    """Take the code (typed or from the card), then show the question form."""
    if request.method == "GET":
        return render_template("inquiry/enter.html")
    _check_request()
    throttled = _throttled()
    if throttled:
        return throttled
    typed = PhoneForm().code.data
    if not canonical_code(typed):
        return render_template("inquiry/enter.html", error="请输入测评码。"), 400
    try:
        return _question_page(typed)
    except inquiry_service.InquiryRefused as error:
        return _refused(error)


@bp.post("/q/ask")
@csrf.exempt  # as above: the code is the secret
def ask():
    _check_request()
    throttled = _throttled()
    if throttled:
        return throttled
    form = QuestionForm()
    typed, text, subject_id = form.code.data, form.text.data or "", form.subject.data or ""
    try:
        inquiry_service.ask(typed, strict_int(subject_id) or 0, text)
    except inquiry_service.InquiryRefused as error:
        if error.status == 429:
            return render_template("inquiry/enter.html", error=str(error)), 429
        return _refused(error)
    except ServiceError as error:
        db.session.rollback()
        page = _question_page(typed, str(error), text, subject_id)
        return page, error.status
    return redirect(url_for("inquiry.sent"), code=303)


@bp.get("/q/sent")
def sent():
    return render_template("inquiry/sent.html")


# ---- the organizer's side -----------------------------------------------------------------


def moderation_page(session: EvalSession):
    return render_template(
        "inquiry/moderate.html",
        session=session,
        inquiries=inquiry_service.inquiries_of(session),
        may_organize=can_organize(current_user, session),
        today=today(),
        deadline=inquiry_service.answer_deadline(session),
        modes=AnswerMode,
    )


@bp.get("/sessions/<id:session_id>/inquiries")
@require_role(*STAFF)
def moderate(session_id: int):
    return moderation_page(get_for(current_user, session_id, organize=False))


moderated = posts(
    bp, organizing, lambda session, form, **_: moderation_page(session), page_of("inquiry.moderate")
)


@moderated("/sessions/<id:session_id>/inquiries/screen", form=ScreenForm)
def choose(session: EvalSession, form: ScreenForm):
    shown = inquiry_service.choose_for_screen(session, set(form.show.data), current_user)
    return f"投屏将显示{shown}条质询。"


@moderated("/sessions/<id:session_id>/inquiries/<inquiry_id>/mode", form=ModeForm)
def mode(session: EvalSession, form: ModeForm, inquiry_id: str):
    inquiry = inquiry_service.set_mode(
        session, inquiry_id, AnswerMode(form.mode.data), current_user
    )
    if inquiry.due_on:
        return f"已标记为会后书面答复，期限 {inquiry.due_on.isoformat()}（7个工作日）。"
    return f"已标记为“{inquiry.mode.label}”。"


@moderated("/sessions/<id:session_id>/inquiries/<inquiry_id>/answer", form=AnswerForm)
def answer(session: EvalSession, form: AnswerForm, inquiry_id: str):
    inquiry_service.record_answer(session, inquiry_id, form.answer.data or "", current_user)
    return "已登记书面答复。"


@bp.get("/sessions/<id:session_id>/inquiries/screen")
@require_role(*STAFF)
def screen(session_id: int):
    """A projector page of the questions the organizer chose; it reloads itself."""
    session = get_for(current_user, session_id, organize=False)
    return render_template(
        "inquiry/screen.html", session=session, inquiries=inquiry_service.on_screen(session)
    )
