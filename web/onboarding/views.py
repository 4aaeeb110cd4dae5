"""Onboarding controllers: the invitation link, then the hours form."""
from __future__ import annotations

import secrets

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, session,
                   url_for)

from scheduler.core.preferences import common_timezones
from scheduler.services import consent, onboarding as service
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


BROWSER_COOKIE = "tandem_browser"


def _already_set_up(invite: service.Invitation):
    if invite.asked:
        flash(f"Sign in to answer the invitation to {invite.program_name}.", "success")
        return redirect(url_for("auth.sign_in", next=url_for("onboarding.join", program_id=invite.program_id)))
    flash("You have already set up Tandem. Sign in to see your sessions.", "success")
    return redirect(url_for("auth.sign_in", next=url_for("pairs.show", pair_id=invite.pair_id)))


def _continue_as(person_id: str, pair_id: str):
    me = current()
    if me is None or me.id != person_id:
        sign_in(person_id)
    session[PAIR_KEY] = pair_id
    return redirect(url_for("onboarding.hours"))


def _browser() -> tuple[str, bool]:
    """This browser's random id (its cookie), and whether it is new (the reply must set it)."""
    known = request.cookies.get(BROWSER_COOKIE, "")
    if 20 <= len(known) <= 64 and known.replace("-", "").replace("_", "").isalnum():
        return known, False
    return secrets.token_urlsafe(24), True


def _remember_browser(reply, browser: str):
    app = current_app
    reply.set_cookie(BROWSER_COOKIE, browser, max_age=60 * 60 * 24 * 365, httponly=True, samesite="Lax",
                     secure=bool(app.config.get("SESSION_COOKIE_SECURE")))
    return reply


@bp.get("/invite/<token>")
def invitation(token: str):
    """Opening an invitation changes nothing (mail scanners open links, and a link someone else
    sent must not sign this browser in: login CSRF): it shows what the invitation is, and only
    the page's button (a CSRF-checked POST) signs in and continues. Someone who has finished
    onboarding signs in like everyone else (an old forwarded invitation is not a key to the
    account); someone already in Tandem who was asked to join a new program answers on that
    program's join page. When another person is signed in, the page says so first."""
    invite, problem = _read_invitation(token)
    if invite is None:
        return problem
    me = current()
    if invite.onboarded and (me is None or me.id != invite.person_id):
        return _already_set_up(invite)
    if invite.onboarded and invite.asked:
        return redirect(url_for("onboarding.join", program_id=invite.program_id))
    if me is not None and me.id != invite.person_id:
        return render_template("onboarding/switch_person.html", token=token,
                               signed_in_as=me.display_name, invited=invite.name)
    browser, new = _browser()
    reply = make_response(render_template("onboarding/invitation.html", token=token, invite=invite))
    return _remember_browser(reply, browser) if new else reply


@bp.post("/invite/<token>")
def switch_to_invited(token: str):
    """The invitation's button (the CSRF check has run before this view): the first use binds
    the link to this browser, joining accepts the program, then onboarding continues as the
    invitation's person (whoever was signed in is signed out)."""
    invite, problem = _read_invitation(token)
    if invite is None:
        return problem
    me = current()
    if invite.onboarded and (me is None or me.id != invite.person_id):
        return _already_set_up(invite)
    browser, new = _browser()
    try:
        consent.use_invitation(deps.container(), token, browser)
    except (LinkError, consent.OpenedElsewhere) as exc:
        return render_template("auth/link_problem.html", message=str(exc)), 400
    reply = _continue_as(invite.person_id, invite.pair_id)
    return _remember_browser(reply, browser) if new else reply


@bp.route("/programs/<program_id>/join", methods=["GET", "POST"])
@login_required
def join(program_id: str):
    """Someone already in Tandem answers a new program's invitation (accept or decline). A
    program they were not asked to is a 404 (the page does not say it exists)."""
    me = current()
    container = deps.container()
    try:
        offer = consent.program_invitation(container, me.id, program_id)
    except consent.NotInvited:
        abort(404)
    if request.method == "POST":
        answer = request.form.get("answer", "")
        try:
            if answer == "accept":
                consent.accept_program(container, me.id, program_id)
                flash(f"You joined {offer.program_name}. Tandem will find a time once everyone is ready.", "success")
            elif answer == "decline":
                consent.decline_program(container, me.id, program_id)
                flash(f"You declined {offer.program_name}. Nothing about you is shared with it.", "success")
            else:
                return render_template("onboarding/join.html", offer=offer,
                                       problem="Choose Accept or Decline."), 400
        except consent.NotInvited as exc:
            return render_template("onboarding/join.html", offer=offer, problem=str(exc)), 400
        return redirect(url_for("home.index"))
    return render_template("onboarding/join.html", offer=offer, problem=None)


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
