"""The Microsoft identity platform (v2.0) part of the emulator: OpenID discovery, the authorize
consent page, the token endpoint (authorization code with PKCE, refresh token with rotation).

Replies carry what MSAL needs: ``token_type, scope, expires_in, ext_expires_in, access_token,
refresh_token, id_token`` (RS256, claims ``aud iss iat nbf exp name oid preferred_username sub
tid ver nonce``) and ``client_info`` (base64url ``{"uid", "utid"}``).
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import uuid
from datetime import timedelta
from urllib.parse import urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .replies import OAuthError, json_reply
from .store import AuthCode, Store

GRAPH_PREFIX = "https://graph.microsoft.com/"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
KNOWN_SCOPES = frozenset({
    "Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared",
    "Calendars.ReadWrite.Shared", "User.Read", "MailboxSettings.Read", "OnlineMeetings.ReadWrite",
})


def normalise_scopes(raw: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a scope string into (Graph resource scopes, OIDC scopes); unknown ones raise."""
    resource, oidc = [], []
    for scope in (raw or "").split():
        short = scope[len(GRAPH_PREFIX):] if scope.startswith(GRAPH_PREFIX) else scope
        if short in OIDC_SCOPES:
            oidc.append(short)
        elif short in KNOWN_SCOPES:
            resource.append(short)
        else:
            raise OAuthError("invalid_scope", 70011,
                             f"The provided value for the input parameter 'scope' is not valid. "
                             f"The scope '{scope}' does not exist.")
    return tuple(dict.fromkeys(resource)), tuple(dict.fromkeys(oidc))


_SIGNING_KEY: rsa.RSAPrivateKey | None = None
_SIGNING_KEY_LOCK = threading.Lock()


def _signing_key() -> rsa.RSAPrivateKey:
    """One RSA key per process: generating 2048-bit keys per emulator would slow every test."""
    global _SIGNING_KEY
    with _SIGNING_KEY_LOCK:
        if _SIGNING_KEY is None:
            _SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _SIGNING_KEY


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Identity:
    """Handlers for ``{authority}/...``; ``issuer_base`` is ``https://127.0.0.1:PORT``."""

    def __init__(self, store: Store):
        self.store = store
        self.issuer_base = ""
        self._key = _signing_key()
        self._kid = uuid.uuid4().hex[:16]

    # --- discovery ------------------------------------------------------------------------
    def openid_configuration(self, tenant: str) -> Response:
        """``GET {authority}/v2.0/.well-known/openid-configuration``."""
        base = f"{self.issuer_base}/{tenant}"
        return json_reply({
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.issuer_base}/{{tenantid}}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.issuer_base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                 "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        })

    def keys(self) -> Response:
        """The JWKS that verifies issued id tokens."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self._kid, "use": "sig"})
        return json_reply({"keys": [jwk]})

    # --- authorize ------------------------------------------------------------------------
    def authorize(self, request: Request, tenant: str) -> Response:
        """``{authority}/oauth2/v2.0/authorize``: the consent page (GET) and its answer (POST)."""
        if request.method == "POST":
            return self._decide(request)
        args = request.args
        client = self.store.clients.get(args.get("client_id", ""))
        if client is None:
            return _error_page(700016, f"Application with identifier '{args.get('client_id')}' was not found "
                                       "in the directory.")
        redirect_uri = args.get("redirect_uri", "")
        if not _redirect_allowed(client.redirect_uris, redirect_uri):
            return _error_page(50011, f"The redirect URI '{redirect_uri}' specified in the request does not "
                                      "match the redirect URIs configured for the application.")
        mode = args.get("response_mode", "query")
        if mode not in ("query", "form_post", "fragment"):
            mode = "query"
        if args.get("response_type") != "code":
            return _redirect_error(redirect_uri, mode, args.get("state"), "unsupported_response_type",
                                   "AADSTS70005: response_type is not supported.")
        try:
            resource, oidc = normalise_scopes(args.get("scope"))
        except OAuthError as err:
            return _redirect_error(redirect_uri, mode, args.get("state"), err.error,
                                   f"AADSTS{err.aadsts}: {err.description}")
        method = args.get("code_challenge_method")
        if args.get("code_challenge") and method not in (None, "S256", "plain"):
            return _redirect_error(redirect_uri, mode, args.get("state"), "invalid_request",
                                   "AADSTS501491: Invalid code_challenge_method.")
        pending = {"response_mode": mode, "client_id": client.client_id, "redirect_uri": redirect_uri, "state": args.get("state"),
                   "scopes": resource + oidc, "nonce": args.get("nonce"),
                   "code_challenge": args.get("code_challenge"), "code_challenge_method": method or "plain",
                   "tenant": tenant}
        hint = args.get("login_hint", "")
        user = self.store.account(hint) if hint and self.store.auto_approve else None
        with self.store.lock:
            if self.store.auto_approve and user is not None:
                return self._issue_code(pending, user.oid)
            request_id = secrets.token_urlsafe(16)
            self.store.pending_authorizations[request_id] = pending
        return _consent_page(request.path, request_id, hint, resource, client.client_id)

    def _decide(self, request: Request) -> Response:
        form = request.form
        with self.store.lock:
            pending = self.store.pending_authorizations.pop(form.get("request_id", ""), None)
            if pending is None:
                return _error_page(90014, "The authorization request expired or was already used.")
            if form.get("action") != "accept":
                return _redirect_error(pending["redirect_uri"], pending["response_mode"], pending["state"],
                                       "access_denied",
                                       "AADSTS65004: User declined to consent to access the app.")
        user = self.store.account(form.get("email", ""))
        if user is None:
            return _error_page(50034, "The user account does not exist in this directory.")
        with self.store.lock:
            return self._issue_code(pending, user.oid)

    def _issue_code(self, pending: dict, oid: str) -> Response:
        code = "0.AQ" + secrets.token_urlsafe(48)
        self.store.codes[code] = AuthCode(
            code, pending["client_id"], pending["redirect_uri"], oid, tuple(pending["scopes"]), pending["nonce"],
            pending["code_challenge"], pending["code_challenge_method"],
            self.store.now() + timedelta(minutes=10))
        params = {"code": code, "session_state": str(uuid.uuid4())}
        if pending["state"] is not None:
            params["state"] = pending["state"]
        return _deliver(pending["redirect_uri"], pending["response_mode"], params)

    # --- token ----------------------------------------------------------------------------
    def token(self, request: Request, tenant: str) -> Response:
        """``POST {authority}/oauth2/v2.0/token``: authorization_code and refresh_token grants."""
        form = request.form
        client = self._authenticate_client(request)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._grant_code(form, client.client_id)
        if grant == "refresh_token":
            return self._grant_refresh(form, client.client_id)
        raise OAuthError("unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'.")

    def _authenticate_client(self, request: Request):
        form = request.form
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id, secret = request.authorization.username, request.authorization.password
        client = self.store.clients.get(client_id or "")
        if client is None:
            raise OAuthError("unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory.")
        if client.secret is not None:
            if not secret:
                raise OAuthError("invalid_client", 7000218, "The request body must contain the following "
                                 "parameter: 'client_assertion' or 'client_secret'.", 401)
            if not secrets.compare_digest(secret, client.secret):
                raise OAuthError("invalid_client", 7000215, "Invalid client secret provided.", 401)
        return client

    def _grant_code(self, form, client_id: str) -> Response:
        with self.store.lock:
            code = self.store.codes.get(form.get("code", ""))
            if code is None or code.client_id != client_id:
                raise OAuthError("invalid_grant", 70000, "The provided authorization code is invalid.")
            if code.used:
                raise OAuthError("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, "
                                 "please retry with a new valid code or use an existing refresh token.")
            if code.expires_at < self.store.now():
                raise OAuthError("invalid_grant", 70008, "The provided authorization code or refresh token has "
                                 "expired due to inactivity. Send a new interactive authorization request.")
            if form.get("redirect_uri") != code.redirect_uri:
                raise OAuthError("invalid_grant", 500112, "The reply address does not match the reply address "
                                 "provided when requesting the authorization code.")
            if code.code_challenge:
                verifier = form.get("code_verifier", "")
                if code.code_challenge_method == "S256":
                    computed = _b64url(hashlib.sha256(verifier.encode()).digest())
                else:
                    computed = verifier
                if not verifier or computed != code.code_challenge:
                    raise OAuthError("invalid_grant", 501481,
                                     "The Code_Verifier does not match the code_challenge supplied in the "
                                     "authorization request.")
            code.used = True
            return self._token_reply(client_id, code.oid, code.scopes, code.nonce)

    def _grant_refresh(self, form, client_id: str) -> Response:
        with self.store.lock:
            rt = self.store.refresh_tokens.get(form.get("refresh_token", ""))
            if rt is None or rt.client_id != client_id:
                raise OAuthError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
            if rt.state == "revoked":
                raise OAuthError("invalid_grant", 50173, "The provided grant has expired due to it being revoked, "
                                 "a fresh auth token is needed. The user might have changed or reset their "
                                 "password.")
            if rt.state == "rotated":
                raise OAuthError("invalid_grant", 70000, "The provided grant is invalid: the refresh token was "
                                 "already redeemed and replaced by a newer one.")
            if rt.state == "expired" or rt.expires_at < self.store.now():
                raise OAuthError("invalid_grant", 700082, "The refresh token has expired due to inactivity. "
                                 "The token was issued on a date and was inactive for 90.00:00:00.")
            requested, _ = normalise_scopes(form.get("scope"))
            missing = [s for s in requested if s not in rt.scopes]
            if missing:
                raise OAuthError("invalid_grant", 65001, "The user or administrator has not consented to use the "
                                 f"application for scopes {' '.join(missing)}. Send an interactive "
                                 "authorization request for this user and resource.")
            rt.state = "rotated"
            return self._token_reply(client_id, rt.oid, rt.scopes, None)

    def _token_reply(self, client_id: str, oid: str, granted: tuple[str, ...], nonce: str | None) -> Response:
        user = self.store.users_by_oid[oid]
        resource = tuple(s for s in granted if s not in OIDC_SCOPES)
        # Like Entra ID, the access token carries every Graph scope the user consented to.
        at_scopes = resource
        at, rt = self.store.issue_tokens(client_id, oid, resource)
        body = {
            "token_type": "Bearer",
            "scope": " ".join(at_scopes + ("openid", "profile")),
            "expires_in": int(self.store.access_token_lifetime.total_seconds()),
            "ext_expires_in": int(self.store.access_token_lifetime.total_seconds()),
            "access_token": at.token,
            "client_info": _b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode()),
        }
        if "offline_access" in granted:
            rt.scopes = granted
            body["refresh_token"] = rt.token
        else:
            self.store.refresh_tokens.pop(rt.token, None)
        if "openid" in granted:
            body["id_token"] = self._id_token(client_id, user, nonce)
        return json_reply(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _id_token(self, client_id: str, user, nonce: str | None) -> str:
        now = int(self.store.clock())
        claims = {
            "aud": client_id, "iss": f"{self.issuer_base}/{user.tid}/v2.0", "iat": now, "nbf": now,
            "exp": now + 3600, "name": user.display_name, "oid": user.oid,
            "preferred_username": user.email, "rh": "0.emulator", "sub": _b64url(
                hashlib.sha256(f"{user.oid}:{client_id}".encode()).digest()),
            "tid": user.tid, "uti": secrets.token_urlsafe(16), "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})


def _redirect_allowed(registered: tuple[str, ...], uri: str) -> bool:
    if registered:
        return uri in registered
    parsed = urlparse(uri)
    return parsed.scheme in ("http", "https") and parsed.hostname in ("127.0.0.1", "localhost", "::1")


def _with_query(url: str, params: dict) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _redirect_error(redirect_uri: str, mode: str, state: str | None, error: str, description: str) -> Response:
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    return _deliver(redirect_uri, mode, params)


def _deliver(redirect_uri: str, mode: str, params: dict) -> Response:
    """Send the authorization response: a 302 with a query (or fragment), or for
    ``response_mode=form_post`` a page whose form POSTs the parameters to the redirect URI."""
    if mode == "form_post":
        fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
                         for k, v in params.items())
        body = (f"<!doctype html><html><head><title>Working...</title></head>"
                f"<body onload=\"document.forms[0].submit()\">"
                f'<form method="POST" name="hiddenform" action="{html.escape(redirect_uri)}">{fields}'
                f"<noscript><p>Script is disabled. Click Submit to continue.</p>"
                f'<input type="submit" value="Submit"></noscript></form></body></html>')
        return Response(body, mimetype="text/html")
    if mode == "fragment":
        return redirect(redirect_uri + "#" + urlencode(params), code=302)
    return redirect(_with_query(redirect_uri, params), code=302)


def _error_page(aadsts: int, message: str) -> Response:
    body = (f"<!doctype html><html><head><title>Sign in to your account</title></head><body>"
            f"<h1>Sorry, but we're having trouble signing you in.</h1>"
            f"<p id='error'>AADSTS{aadsts}: {html.escape(message)}</p></body></html>")
    return Response(body, status=400, mimetype="text/html")


def _consent_page(action: str, request_id: str, hint: str, scopes: tuple[str, ...], client_id: str) -> Response:
    items = "".join(f"<li>{html.escape(s)}</li>" for s in scopes)
    body = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Permissions requested</title></head>
<body>
<h1>Permissions requested</h1>
<p>The app <strong>{html.escape(client_id)}</strong> would like to:</p>
<ul id="scopes">{items}<li>Maintain access to data you have given it access to</li></ul>
<form method="post" action="{html.escape(action)}">
  <input type="hidden" name="request_id" value="{html.escape(request_id)}">
  <label>Account <input type="email" name="email" id="email" value="{html.escape(hint)}"></label>
  <button type="submit" name="action" value="accept" id="accept">Accept</button>
  <button type="submit" name="action" value="decline" id="decline">Cancel</button>
</form>
</body></html>"""
    return Response(body, mimetype="text/html")
