"""Google OAuth 2.0 / OpenID Connect endpoints of the emulator: consent page, token endpoint
(authorization code with PKCE, refresh), revoke, userinfo, discovery and signing keys."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, jsonify, redirect, request

from emulators.google.faults import fault_error
from emulators.google.keys import b64url, subject_for
from emulators.google.scopes import normalize_scopes
from emulators.google.store import AuthCode, Grant

if TYPE_CHECKING:
    from emulators.google.server import GoogleEmulator

CODE_LIFETIME_S = 600


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    resp = jsonify({"error": error, "error_description": description})
    resp.status_code = status
    return resp


def register_oauth_routes(app: Flask, emu: "GoogleEmulator") -> None:
    """Add the OAuth endpoints to ``app``."""
    store = emu.store

    def client_error(client_id: str | None) -> str | None:
        client = store.clients.get(client_id or "")
        if client is None:
            return f"The OAuth client was not found ({client_id!r})."
        return None

    def auth_params() -> dict:
        source = request.values
        return {k: source.get(k, "") for k in ("client_id", "redirect_uri", "response_type", "scope", "state",
                                                "code_challenge", "code_challenge_method", "access_type",
                                                "prompt", "login_hint", "include_granted_scopes")}

    def bad_auth_request(message: str) -> Response:
        page = f"<!doctype html><title>Error 400</title><h1>Access blocked: authorization error</h1><p>{html.escape(message)}</p>"
        return Response(page, status=400, content_type="text/html; charset=utf-8")

    def check_auth_request(params: dict) -> str | None:
        problem = client_error(params["client_id"])
        if problem:
            return "Error 401: invalid_client. " + problem
        if params["response_type"] != "code":
            return "Error 400: unsupported_response_type"
        if not params["redirect_uri"]:
            return "Error 400: invalid_request. Missing required parameter: redirect_uri"
        allowed = store.clients[params["client_id"]].redirect_uris
        if allowed and params["redirect_uri"] not in allowed:
            return "Error 400: redirect_uri_mismatch"
        if not allowed and urlsplit(params["redirect_uri"]).hostname not in ("127.0.0.1", "localhost", "::1"):
            return "Error 400: redirect_uri_mismatch (register the redirect URI with the emulator)"
        if not params["scope"].split():
            return "Error 400: invalid_request. Missing required parameter: scope"
        if params["code_challenge"] and params["code_challenge_method"] not in ("S256", "plain", ""):
            return "Error 400: invalid_request. Invalid code_challenge_method"
        return None

    def approve(params: dict, email: str, granted: list[str]) -> Response:
        if not emu.knows(email):
            return bad_auth_request(f"Couldn't find your Google Account ({email}).")
        user = store.ensure_user(email)
        code = secrets.token_urlsafe(24)
        with store.lock:
            store.codes[code] = AuthCode(
                code, params["client_id"], params["redirect_uri"], user.email, tuple(normalize_scopes(granted)),
                params["code_challenge"] or None,
                params["code_challenge_method"] or ("plain" if params["code_challenge"] else None),
                store.clock() + CODE_LIFETIME_S, offline=params["access_type"] == "offline",
                force_consent="consent" in params["prompt"].split())
        query = {"state": params["state"], "code": code, "scope": " ".join(normalize_scopes(granted)),
                 "authuser": "0", "prompt": "consent"}
        return redirect(_with_query(params["redirect_uri"], query), code=302)

    def deny(params: dict) -> Response:
        return redirect(_with_query(params["redirect_uri"], {"error": "access_denied", "state": params["state"]}), code=302)

    @app.get("/o/oauth2/auth")
    @app.get("/o/oauth2/v2/auth")
    def consent_page():
        params = auth_params()
        problem = check_auth_request(params)
        if problem:
            return bad_auth_request(problem)
        auto = emu.auto_approve
        login = params["login_hint"] or (auto if isinstance(auto, str) else "")
        if auto and login:
            return approve(params, login, params["scope"].split())
        return Response(_consent_html(params, login), content_type="text/html; charset=utf-8")

    @app.post("/o/oauth2/approve")
    def consent_decision():
        params = auth_params()
        problem = check_auth_request(params)
        if problem:
            return bad_auth_request(problem)
        if request.values.get("decision") != "allow":
            return deny(params)
        email = (request.values.get("email") or params["login_hint"]).strip()
        if "@" not in email:
            return bad_auth_request("Choose an account: an email address is required.")
        granted = request.values.getlist("granted_scope") or params["scope"].split()
        granted = [s for s in granted if s in params["scope"].split()]
        return approve(params, email, granted)

    @app.post("/token")
    def token_endpoint():
        fault = emu.faults.take("token", request.path)
        if fault is not None:
            emu.sleep(fault.delay)
            error = fault_error(fault)
            if error is not None:
                return error.response()
        form = request.form
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id, client_secret = request.authorization.username, request.authorization.password
        client = store.clients.get(client_id or "")
        if client is None or client.client_secret != client_secret:
            return _oauth_error("invalid_client", "The OAuth client was not found.", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return exchange_code(form, client_id)
        if grant_type == "refresh_token":
            return refresh(form, client_id)
        return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def exchange_code(form, client_id: str) -> Response:
        with store.lock:
            code = store.codes.get(form.get("code", ""))
            if code is None or code.used or code.expires_at < store.clock() or code.client_id != client_id:
                return _oauth_error("invalid_grant", "Malformed auth code.")
            if form.get("redirect_uri") != code.redirect_uri:
                return _oauth_error("redirect_uri_mismatch", "Bad Request")
            if code.code_challenge:
                verifier = form.get("code_verifier", "")
                if not verifier:
                    return _oauth_error("invalid_grant", "Missing code verifier.")
                expected = b64url(hashlib.sha256(verifier.encode()).digest()) if code.code_challenge_method == "S256" else verifier
                if expected != code.code_challenge:
                    return _oauth_error("invalid_grant", "Invalid code verifier.")
            code.used = True
            known = any(g.email == code.email and g.client_id == client_id and not g.revoked for g in store.grants.values())
            grant = store.new_grant(code.email, client_id, code.scopes)
            # Google hands out a refresh token on the first offline consent, and again only
            # when the app forces the consent screen (prompt=consent).
            give_refresh = code.offline and (not known or code.force_consent)
        return token_reply(grant, include_refresh=give_refresh)

    def refresh(form, client_id: str) -> Response:
        grant = store.grants.get(form.get("refresh_token", ""))
        if grant is None or grant.revoked or grant.client_id != client_id:
            return _oauth_error("invalid_grant", "Token has been expired or revoked.")
        return token_reply(grant, include_refresh=False)

    def token_reply(grant: Grant, *, include_refresh: bool) -> Response:
        access = store.issue_access_token(grant, emu.token_lifetime_s)
        body = {"access_token": access.value, "expires_in": int(emu.token_lifetime_s), "scope": " ".join(grant.scopes),
                "token_type": "Bearer"}
        if include_refresh:
            body["refresh_token"] = grant.refresh_token
        if "openid" in grant.scopes:
            body["id_token"] = emu.keys.id_token(emu.base_url, grant.client_id, grant.email, store.clock())
        resp = jsonify(body)
        resp.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
        return resp

    @app.post("/revoke")
    @app.post("/o/oauth2/revoke")
    def revoke():
        value = request.values.get("token", "")
        with store.lock:
            grant = store.grants.get(value)
            if grant is None and value in store.access_tokens:
                grant = store.access_tokens[value].grant
            if grant is None or grant.revoked:
                return _oauth_error("invalid_token", "Token expired or revoked")
            grant.revoked = True
        return jsonify({})

    @app.get("/oauth2/v3/userinfo")
    def userinfo():
        value = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        token = store.access_tokens.get(value)
        if token is None or not token.usable(store.clock()):
            return _oauth_error("invalid_request", "Invalid Credentials", 401)
        user = store.users[token.grant.email]
        return jsonify({"sub": subject_for(user.email), "email": user.email, "email_verified": True, "name": user.name})

    @app.get("/.well-known/openid-configuration")
    def openid_configuration():
        base = emu.base_url
        return jsonify({
            "issuer": base, "authorization_endpoint": base + "/o/oauth2/v2/auth",
            "token_endpoint": base + "/token", "userinfo_endpoint": base + "/oauth2/v3/userinfo",
            "revocation_endpoint": base + "/revoke", "jwks_uri": base + "/oauth2/v3/certs",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        })

    @app.get("/oauth2/v3/certs")
    def certs():
        return jsonify({"keys": [emu.keys.jwk()]})


def _with_query(url: str, query: dict) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(query)


def _consent_html(params: dict, login: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in params.items() if v)
    scopes = "".join(f'<li><label><input type="checkbox" name="granted_scope" value="{html.escape(s)}" checked> '
                     f'{html.escape(s)}</label></li>' for s in params["scope"].split())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Google Accounts (emulator)</title></head>
<body>
<h1>Tandem wants to access your Google Account</h1>
<form method="post" action="/o/oauth2/approve" id="consent">
{hidden}
<p><label>Account <input type="email" name="email" value="{html.escape(login)}" required></label></p>
<p>This will allow Tandem to:</p>
<ul>{scopes}</ul>
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny" formnovalidate>Cancel</button>
</form>
</body></html>"""


def unverified_claims(token: str) -> dict:
    """The payload of a JWT, not verified (for tests and the emulator's own checks)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
