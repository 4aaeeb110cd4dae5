"""Sign-in and sign-out pages (thin: parse, call, render)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for

from scheduler.errors import InvalidInput
from scheduler.services import signin
from scheduler.services.links import LinkError
from web import deps
from web.security.auth import (current, login_required, sign_in as start_session, sign_out as end_session,
                               sign_out_everywhere)

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    r"""Only same-site paths are followed after sign-in (no open redirect).

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so ``/<TAB>/host``
    or ``/\host`` would become the protocol-relative ``//host``: any control character,
    whitespace or backslash is refused outright, then the target must be a path starting with a
    single "/" with no scheme and no host. Anything else goes to the home page."""
    home = url_for("home.index")
    if not target or not isinstance(target, str):
        return home
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch.isspace() or ch == "\\" for ch in target):
        return home
    if not target.startswith("/") or target.startswith("//"):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


@bp.get("/signin")
def sign_in():
    if current() is not None:
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/sign_in.html", next=request.args.get("next", ""),
                           google=bool(deps.container().settings.google.client_id),
                           microsoft=bool(deps.container().settings.microsoft.client_id))


@bp.post("/signin/email")
def request_link():
    email = request.form.get("email", "")
    if "@" not in email:
        flash("Enter the email address your invitation was sent to.", "error")
        return redirect(url_for("auth.sign_in"))
    try:
        url = signin.request_magic_link(deps.container(), email,
                                        lambda token: deps.external_url("auth.confirm_link", token=token),
                                        client=request.remote_addr or "")
    except signin.TooManyRequests as exc:
        flash(str(exc), "error")
        page = render_template("auth/sign_in.html", next="",
                               google=bool(deps.container().settings.google.client_id),
                               microsoft=bool(deps.container().settings.microsoft.client_id))
        return page, 429, {"Retry-After": str(max(1, int(exc.retry_after.total_seconds())))}
    except InvalidInput as exc:  # an address nobody could be sent to
        flash(str(exc), "error")
        return redirect(url_for("auth.sign_in"))
    sandbox_url = url if deps.container().settings.app.demo else None
    return render_template("auth/link_sent.html", email=signin.normalise_email(email), sandbox_url=sandbox_url)


@bp.get("/signin/link/<token>")
def confirm_link(token: str):
    """A page with a button: mail scanners that open links do not use up the link."""
    try:
        signin.check_magic_link(deps.container(), token)
    except LinkError as exc:
        return render_template("auth/link_problem.html", message=str(exc)), 400
    return render_template("auth/confirm.html", token=token)


@bp.post("/signin/link/<token>")
def use_link(token: str):
    try:
        person_id = signin.redeem_magic_link(deps.container(), token)
    except LinkError as exc:
        return render_template("auth/link_problem.html", message=str(exc)), 400
    start_session(person_id)
    return redirect(url_for("home.index"))


@bp.post("/signout")
def sign_out():
    end_session()
    flash("You are signed out.", "success")
    return redirect(url_for("home.index"))


@bp.post("/signout/everywhere")
@login_required
def sign_out_everywhere_view():
    """End every session of the signed-in person: other browsers, a lost phone, a copied cookie."""
    ended = sign_out_everywhere(current().id)
    flash(f"You are signed out everywhere ({ended} session{'s' if ended != 1 else ''} ended).", "success")
    return redirect(url_for("home.index"))
