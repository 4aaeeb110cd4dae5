"""Partial responses: the ``fields`` query parameter (``items(id,status),nextSyncToken``).

Google returns only the selected fields; Tandem uses this so titles of a person's other events
never cross the wire.
"""
from __future__ import annotations

from emulators.google.errors import bad_request

Tree = dict[str, "Tree | None"]


def parse_fields(text: str) -> Tree:
    """Parse a fields selector into a tree (``None`` leaf: the whole value).

    >>> parse_fields("items(id,start/dateTime),nextPageToken")
    {'items': {'id': None, 'start': {'dateTime': None}}, 'nextPageToken': None}
    """
    tree, pos = _parse_list(text.replace(" ", ""), 0)
    if pos != len(text.replace(" ", "")):
        raise bad_request(f"Invalid field selection {text}", reason="invalidParameter", location="fields")
    return tree


def _parse_list(text: str, pos: int) -> tuple[Tree, int]:
    tree: Tree = {}
    while pos < len(text) and text[pos] != ")":
        name, sub, pos = _parse_item(text, pos)
        _merge(tree, name, sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return tree, pos


def _parse_item(text: str, pos: int) -> tuple[str, Tree | None, int]:
    end = pos
    while end < len(text) and text[end] not in ",()/":
        end += 1
    name = text[pos:end]
    if not name:
        raise bad_request(f"Invalid field selection {text}", reason="invalidParameter", location="fields")
    sub: Tree | None = None
    if end < len(text) and text[end] == "/":
        child, child_sub, end = _parse_item(text, end + 1)
        sub = {child: child_sub}
    elif end < len(text) and text[end] == "(":
        sub, end = _parse_list(text, end + 1)
        if end >= len(text) or text[end] != ")":
            raise bad_request(f"Invalid field selection {text}", reason="invalidParameter", location="fields")
        end += 1
    return name, sub, end


def _merge(tree: Tree, name: str, sub: Tree | None) -> None:
    if name in tree and (tree[name] is None or sub is None):
        tree[name] = None
    elif name in tree:
        for key, value in sub.items():  # type: ignore[union-attr]
            _merge(tree[name], key, value)  # type: ignore[arg-type]
    else:
        tree[name] = sub


def select(value: object, tree: Tree | None) -> object:
    """Keep only the selected fields of a JSON value."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [select(item, tree) for item in value]
    if isinstance(value, dict):
        return {k: select(value[k], sub) for k, sub in tree.items() if k in value}
    return value
