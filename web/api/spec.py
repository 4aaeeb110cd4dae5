"""The spectree instance behind the API: validates requests and responses against
:mod:`web.api.schemas` and generates the OpenAPI 3.1 document from the same models.

Two additions to the library's behaviour, both small: a CSV report (``format=csv``) is returned
as it is (it is not the JSON model), and the document says so (``text/csv`` beside
``application/json`` for the report routes); a request that fails validation is answered in the
API's error shape (400) instead of spectree's list."""
from __future__ import annotations

import flask
from spectree import SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData
from spectree.plugins.flask_plugin import FlaskPlugin

from web.api.errors import ApiError
from web.api.schemas import ErrorBody, ErrorDetail


class _Plugin(FlaskPlugin):
    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        if isinstance(resp, flask.Response) and resp.mimetype == "text/csv":
            return resp, None
        return super().validate_response(resp, resp_model, skip_validation, force_resp_serialize)


class _Spec(SpecTree):
    def _generate_spec(self):
        document = super()._generate_spec()
        for path, operations in document["paths"].items():
            if "/reports/" in path:
                for operation in operations.values():
                    operation["responses"]["200"]["content"]["text/csv"] = {
                        "schema": {"type": "string", "description": "The same rows as CSV, a header row first."}}
        return document


def _where(loc) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query")) or "request"


def _before(req, resp, req_validation_error, instance, model_adapter):
    if req_validation_error is not None:
        errors = model_adapter.validation_errors(req_validation_error)
        details = [ErrorDetail(field=_where(e.get("loc", ())), message=str(e.get("msg", "invalid")),
                               index=next((p for p in e.get("loc", ())[1:2] if isinstance(p, int)), None))
                   for e in errors[:20]]
        first = details[0] if details else None
        message = f"{first.field}: {first.message}" if first else "The request is not valid."
        raise ApiError(400, message + " (see /api/openapi.json for what each route takes).", details)


def _after(req, resp, resp_validation_error, instance, model_adapter):
    if resp_validation_error is not None:
        raise RuntimeError(f"an API response does not match its schema: {resp_validation_error}")


spec = _Spec(
    "flask", backend=_Plugin, mode="strict", path="apidoc", title="Tandem API", version="1",
    description="Tandem's JSON API v1: programs, pairs, sessions and reports. See docs/api.md.",
    page_templates={}, naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child, before=_before, after=_after, validation_error_status=400,
    validation_error_model=ErrorBody,
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(
        type="http", scheme="bearer", description="An API token (tandem api-token create)."))],
    security={"bearer": []},
)
