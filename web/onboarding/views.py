"""Onboarding controllers: the invitation link, then the hours form."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from scheduler.core.preferences import common_timezones
from scheduler.services import onboarding as service
from scheduler.services.links import LinkError
from web import deps
from web.onboarding.forms import DAY_NAMES, TIMES_OF_DAY, answers_from_form, form_from_person
from web.security.auth import current, login_required, sign_in

bp = Blueprint("onboarding", __name__)
PAIR_KEY = "onboarding_pair"


def _read_invitation(token: str) -> tuple[service.Invitation | None, tuple[str, int] | None]:
    """(the invitation, None) when the link is valid, else (None, the problem page)."""
    try:
        return service.read_invitation(deps.container(), token), None
    except LinkError as exc:  # expired, tampered with, or its pair is gone (InvitationGone)
        return None, (render_template("auth/link_problem.html", message=str(exc)), 400)


def _already_set_up(pair_id: str):
    flash("You have already set up Tandem. Sign in to see your sessions.", "success")
    return redirect(url_for("auth.sign_in", next=url_for("pairs.show", pair_id=pair_id)))


def _continue_as(person_id: str, pair_id: str):
    me = current()
    if me is None or me.id != person_id:
        sign_in(person_id)
    session[PAIR_KEY] = pair_id
    return redirect(url_for("onboarding.hours"))


@bp.get("/invite/<token>")
def invitation(token: str):
    """An invitation signs its person in until they have finished onboarding; after that they
    sign in like everyone else (so an old forwarded invitation is not a key to the account).

    Opening a link never swaps the browser's account (that would be login CSRF: a link sent by
    someone else would make the next calendar connected land in their account). When another
    person is signed in, a page asks first and only its POST (CSRF-checked) switches."""
    invite, problem = _read_invitation(token)
    if invite is None:
        return problem
    me = current()
    if invite.onboarded and (me is None or me.id != invite.person_id):
        return _already_set_up(invite.pair_id)
    if me is not None and me.id != invite.person_id:
        return render_template("onboarding/switch_person.html", token=token,
                               signed_in_as=me.display_name, invited=invite.name)
    return _continue_as(invite.person_id, invite.pair_id)


@bp.post("/invite/<token>")
def switch_to_invited(token: str):
    """The confirmed switch from the page above: sign out whoever is signed in and continue as
    the invitation's person (the CSRF check has run before this view)."""
    invite, problem = _read_invitation(token)
    if invite is None:
        return problem
    me = current()
    if invite.onboarded and (me is None or me.id != invite.person_id):
        return _already_set_up(invite.pair_id)
    return _continue_as(invite.person_id, invite.pair_id)


def _pair_info(context: service.PairContext | None) -> dict | None:
    if context is None:
        return None
    return {"program": context.program, "other": context.other, "role": context.role,
            "cadence": context.cadence, "duration_min": context.duration_min}


@bp.route("/onboarding", methods=["GET", "POST"])
@login_required
def hours():
    me = current()
    pair_id = session.get(PAIR_KEY)
    if request.method == "POST":
        # rhythm and length are read always; the service keeps them only where the program allows
        answers = answers_from_form(request.form, may_choose_rhythm=True)
        try:
            outcome = service.submit_onboarding(deps.container(), me.id, pair_id, answers)
        except service.AnswersRefused as exc:
            return _render(request.form, _pair_info(exc.page.pair), exc.page.may_choose, [str(exc)]), 400
        session.pop(PAIR_KEY, None)
        if outcome.ready_pair_ids:
            flash("You are both set up. Tandem is finding a regular time that suits you both.", "success")
        elif outcome.replanned_pair_ids:
            flash("Your hours are saved. Tandem is looking for a time again with your new hours.", "success")
        else:
            flash("Your hours are saved.", "success")
        if not outcome.has_calendar:
            return redirect(url_for("connect.index"))
        return redirect(url_for("home.index"))
    page = service.onboarding_page(deps.container(), me.id, pair_id)
    pair, may_choose = _pair_info(page.pair), page.may_choose
    values = form_from_person(page.tz, page.working_hours, page.preferences)
    if pair:
        values.setdefault("cadence", pair["cadence"])
        values.setdefault("duration_min", str(pair["duration_min"]))
    return _render(values, pair, may_choose, [])


def _render(values, pair, may_choose: bool, problems: list[str]):
    return render_template("onboarding/hours.html", form=values, pair=pair, may_choose=may_choose, problems=problems,
                           days=DAY_NAMES, times_of_day=TIMES_OF_DAY, zones=common_timezones())
