"""Play the browser's part of the auth-code flow against the emulator with ``requests``: open the
authorize URL, press Accept on the consent page when it shows, and return the parameters the
browser would deliver to the redirect URI (from a 302 query or a ``form_post`` page)."""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlparse

import requests


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("name") and attrs.get("type") in ("hidden", "email", "text"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def _forms(page: str) -> _Forms:
    parser = _Forms()
    parser.feed(page)
    return parser


def sign_in(session: requests.Session, auth_uri: str, *, email: str | None = None, accept: bool = True) -> dict:
    """Follow ``auth_uri`` like a browser; return the authorization response parameters."""
    resp = session.get(auth_uri, allow_redirects=False, timeout=10)
    if resp.status_code == 200 and 'id="accept"' in resp.text:  # the consent page
        form = _forms(resp.text)
        data = dict(form.fields)
        if email is not None:
            data["email"] = email
        data["action"] = "accept" if accept else "decline"
        resp = session.post(urljoin(auth_uri, form.action or urlparse(auth_uri).path), data=data,
                            allow_redirects=False, timeout=10)
    if resp.status_code in (301, 302, 303):
        location = resp.headers["Location"]
        parsed = urlparse(location)
        return dict(parse_qsl(parsed.query or parsed.fragment))
    if resp.status_code == 200 and 'name="hiddenform"' in resp.text:  # response_mode=form_post
        return _forms(resp.text).fields
    raise RuntimeError(f"sign-in did not complete: HTTP {resp.status_code}: {resp.text[:300]}")
