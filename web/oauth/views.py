"""OAuth controllers: start a consent, take the provider's answer, then sign in and/or store the
calendar connection. What is kept between start and callback lives in the signed session."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for

from adapters.providers import google_oauth
from scheduler.errors import ProviderError
from scheduler.services.connections import store_connection, store_sign_in_connection
from web import deps
from web.deps import container, external_url, now
from web.oauth.clients import google_config, microsoft_flow
from web.security import csrf
from web.security.auth import current, sign_in
from web.auth.views import safe_next

bp = Blueprint("oauth", __name__, url_prefix="/oauth")
PROVIDERS = ("google", "microsoft")
PURPOSES = ("connect", "signin")
SESSION_KEY = "oauth"


def _configured(provider: str) -> bool:
    settings = container().settings
    return bool((settings.google if provider == "google" else settings.microsoft).client_id)


@bp.get("/<provider>/start")
def start(provider: str):
    purpose = request.args.get("purpose", "connect")
    if provider not in PROVIDERS or purpose not in PURPOSES:
        abort(404)
    if not _configured(provider):
        abort(404, description=f"Connecting {provider.capitalize()} is not set up on this Tandem server.")
    me = current()
    if purpose == "connect" and me is None:
        return redirect(url_for("auth.sign_in", next=url_for("connect.index")))
    settings = container().settings
    login_hint = me.email if me is not None else None
    try:
        if provider == "google":
            begun = google_oauth.start_authorization(
                google_config(settings, external_url("oauth.google_callback")), login_hint=login_hint)
            pending, url = {"state": begun.state, "code_verifier": begun.code_verifier}, begun.url
        else:
            flow = microsoft_flow(settings, current_app.extensions).start(
                external_url("oauth.microsoft_callback"), login_hint=login_hint)
            url = flow.pop("auth_uri")
            pending = {"flow": flow}
    except ProviderError as exc:
        return render_template("connect/problem.html", message=str(exc)), 502
    session[SESSION_KEY] = {"provider": provider, "purpose": purpose, "next": request.args.get("next") or "",
                            **pending}
    return redirect(url)


def _pending(provider: str) -> dict:
    pending = session.pop(SESSION_KEY, None)
    if not pending or pending.get("provider") != provider:
        abort(400, description="This sign-in answer does not belong to this browser session (it may have "
                               "expired). Start connecting again from your calendars page.")
    return pending


@bp.get("/google/callback")
def google_callback():
    pending = _pending("google")
    settings = container().settings
    try:
        result = google_oauth.finish_authorization(
            google_config(settings, external_url("oauth.google_callback")), saved_state=pending["state"],
            code_verifier=pending["code_verifier"], callback_args=request.args, now=now())
    except ProviderError as exc:
        return render_template("connect/problem.html", message=str(exc)), 400
    if not result.can_read_free_busy:
        return render_template("connect/problem.html", message=(
            "Tandem needs to see when you are busy to find a time. Connect again and leave the "
            "free/busy permission ticked.")), 400
    note = None if result.can_write_events else (
        "Tandem cannot add sessions to this calendar (that permission was not given); it will send "
        "calendar invitations by email instead.")
    return _finish(pending, "google", result.email, result.credentials, note)


@bp.route("/microsoft/callback", methods=["GET", "POST"])
@csrf.exempt
def microsoft_callback():
    if request.method == "POST":
        # Microsoft answers with a cross-site form POST, which carries no SameSite=Lax session
        # cookie; turn it into a same-site GET where the session (and the flow) are available.
        return redirect(url_for("oauth.microsoft_callback", **request.form.to_dict()), code=303)
    pending = _pending("microsoft")
    settings = container().settings
    try:
        result = microsoft_flow(settings, current_app.extensions).finish(pending["flow"], request.args.to_dict())
    except ProviderError as exc:
        return render_template("connect/problem.html", message=str(exc)), 400
    return _finish(pending, "microsoft", result.email, result.credentials, None)


def _finish(pending: dict, provider: str, email: str, credentials: dict, note: str | None):
    """Sign in (purpose ``signin``) and store the connection for the signed-in person."""
    if pending["purpose"] == "signin":
        person_id = store_sign_in_connection(deps.container(), provider, email, credentials)
        if person_id is None:
            return render_template("connect/problem.html", message=(
                f"No Tandem program has invited {email}. Sign in with the address your invitation "
                f"went to, or ask your program coordinator to add this one.")), 403
    else:
        me = current()
        if me is None:
            abort(403, description="Sign in first, then connect your calendar.")
        person_id = me.id
        store_connection(deps.container(), person_id, provider, email, credentials)
    label = "Google Calendar" if provider == "google" else "Microsoft 365 calendar"
    if pending["purpose"] == "signin":
        sign_in(person_id)
        flash(f"You are signed in, and your {label} ({email}) is connected.", "success")
        return redirect(safe_next(pending.get("next")))
    flash(f"Your {label} ({email}) is connected. Tandem will only see when you are busy.", "success")
    if note:
        flash(note, "error")
    return redirect(safe_next(pending.get("next") or url_for("connect.index")))
