"""The OpenAPI schema: valid, and listing every route and method under /api/v1/."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db


def _schema(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _routes(patterns=None, prefix: str = ""):
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def _openapi_path(route: str) -> str:
    path = "/" + route.lstrip("^").rstrip("$")
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m.group(1) == "pk" else "{" + m.group(1) + "}", path)


def test_every_route_and_method_under_api_v1_is_in_the_schema(client):
    schema = _schema(client)
    routes = [(r, p) for r, p in _routes() if r.startswith("api/v1/") and p.name != "not_found"]
    assert len(routes) >= 16
    missing = []
    for route, pattern in routes:
        path = _openapi_path(route)
        documented = schema["paths"].get(path)
        if documented is None:
            missing.append(path)
            continue
        actions = getattr(pattern.callback, "actions", {}) or {}
        for method in actions:
            if method != "head" and method not in documented:  # HEAD is GET without a body
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"routes missing from /api/schema/: {missing}"


def test_every_operation_documents_its_errors_as_problem_json(client):
    schema = _schema(client)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code in ("400", "401", "403", "429"):
                assert code in responses, (method, path, code)
                assert "application/problem+json" in responses[code]["content"]
            if "{id}" in path:
                assert "404" in responses, (method, path)
            if method == "patch":
                assert "412" in responses
                assert any(p["name"] == "If-Match" for p in operation["parameters"])
            if method == "post":
                assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
                assert "422" in responses
            assert "Retry-After" in responses["429"]["headers"]


def test_list_operations_document_cursor_ordering_and_filters(client):
    operation = _schema(client)["paths"]["/api/v1/contacts/"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"cursor", "page_size", "ordering", "owner", "account", "updated_since", "search"} <= names
    ordering = next(p for p in operation["parameters"] if p["name"] == "ordering")
    assert ordering["schema"]["enum"] == ["name", "-updated", "updated_at", "-created"]


def test_the_schema_validates_against_the_openapi_3_specification(tmp_path):
    out = tmp_path / "schema.yaml"
    # --validate checks against the OpenAPI 3 JSON schema; --fail-on-warn fails on any guesswork.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert set(schema["components"]["securitySchemes"]) == {"ApiKey", "StaffSession"}


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/static/js/api-docs.js" in html
    assert "<script>" not in html  # no inline script: the CSP stays script-src 'self'
    assert "unsafe-inline" not in response.get("Content-Security-Policy", "")
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_request_bodies_forbid_the_unknown_fields_the_api_refuses(client):
    schemas = _schema(client)["components"]["schemas"]
    for name in ("ContactRequest", "PatchedContactRequest", "AccountRequest", "InvitationCreateRequest"):
        assert schemas[name]["additionalProperties"] is False, name


def test_id_filters_are_integers_and_a_blank_verification_method_is_in_the_contact_schema(client):
    schema = _schema(client)
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/activities/"]["get"]["parameters"]}
    assert params["opportunity"] == {"type": "integer"}
    assert params["owner"] == {"type": "integer"}
    method = schema["components"]["schemas"]["Contact"]["properties"]["verification_method"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in method["oneOf"]


def test_the_write_headers_say_what_the_api_accepts(client):
    operation = _schema(client)["paths"]["/api/v1/contacts/{id}/"]["patch"]
    headers = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "header"}
    assert re.match(headers["If-Match"]["pattern"], 'W/"a", "b"')
    assert not re.match(headers["If-Match"]["pattern"], "")
    create = _schema(client)["paths"]["/api/v1/contacts/"]["post"]
    key = next(p["schema"] for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert (key["minLength"], key["maxLength"]) == (1, 255)


def test_decimal_fields_document_a_number_not_an_empty_string(client):
    schema = _schema(client)["components"]["schemas"]["LeadConvertRequest"]["properties"]["opportunity_amount"]
    assert re.match(schema["pattern"], "1200.50")
    assert not re.match(schema["pattern"], "")
    assert not re.match(schema["pattern"], "-5")  # min_value=0
