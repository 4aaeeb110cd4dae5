"""Accessibility basics on every main page: one h1, a language, a skip link, every form control
labelled, and text colours that meet WCAG AA contrast."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.web import PageStructure, seed, sign_in_as
from web import create_app

CSS = Path(__file__).resolve().parents[2] / "web" / "static" / "tandem.css"


def test_main_pages_have_structure_and_labelled_controls(client, container):
    seeded = seed(container)
    pages = {seeded.coordinator_id: ["/", "/programs/", "/programs/new", f"/programs/{seeded.program_id}",
                                    f"/programs/{seeded.program_id}/pairs/{seeded.pair_id}"],
             seeded.mentor_id: ["/", "/calendars/", "/calendars/caldav", "/calendars/ics", "/onboarding",
                                f"/pairs/{seeded.pair_id}", "/account/delete"],
             seeded.admin_id: ["/admin/privacy?email=mentee%40example.org", f"/admin/people/{seeded.mentee_id}/erase"]}
    anonymous = create_app(container=container).test_client()
    checked = [("visitor", path, anonymous.get(path).get_data(as_text=True)) for path in ("/", "/signin")]
    for person_id, paths in pages.items():
        sign_in_as(client, person_id)
        checked += [(person_id, path, client.get(path).get_data(as_text=True)) for path in paths]
    for who, path, html in checked:
        page = PageStructure()
        page.feed(html)
        assert page.lang == "en" and page.skip_link, path
        assert page.h1 == 1, f"{path}: {page.h1} h1 elements"
        for control_id, wrapped, aria in page.controls:
            assert wrapped or aria or (control_id and control_id in page.label_for), f"{path}: unlabelled {control_id}"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa_on_both_backgrounds():
    variables = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text()))
    for text in ("ink", "muted", "accent", "ok", "warn", "bad"):
        for background in ("card", "bg"):
            ratio = _contrast(variables[text], variables[background])
            assert ratio >= 4.5, f"--{text} on --{background}: {ratio:.2f}"
    assert _contrast(variables["accent-ink"], variables["accent"]) >= 4.5
