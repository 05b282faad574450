"""Error mapping (provider/_errors.py): one table from response to exception, a hierarchy callers can catch
by, and 403 hints taken from the core's permission map."""

from __future__ import annotations

import pytest

import cwroles.provider as provider
from cwroles.api_permissions import load_api_permissions
from cwroles.provider._errors import (ClientError, ConnectWiseError, Forbidden, InvalidObject, ObjectExists,
                                      ObjectInUse, RateLimited, ResponseError, ServerError, TransientError,
                                      error_for_response)

PUBLIC_NAMES = ["ConnectWiseError", "ConfigurationError", "TransportError", "NotFound", "Unauthorized", "Forbidden",
                "InvalidObject", "ObjectExists", "MethodNotAllowed", "Conflict", "ServerError", "RateLimited"]


def test_public_names_stay_exported():
    for name in PUBLIC_NAMES:
        assert issubclass(getattr(provider, name), ConnectWiseError), name
        assert name in provider.__all__


@pytest.mark.parametrize("status,exc,family", [
    (400, "InvalidObject", ClientError),
    (401, "Unauthorized", ClientError),
    (403, "Forbidden", ClientError),
    (404, "NotFound", ClientError),
    (405, "MethodNotAllowed", ClientError),
    (409, "Conflict", ClientError),
    (429, "RateLimited", TransientError),
    (500, "ServerError", TransientError),
    (503, "ServerError", TransientError),
])
def test_each_status_has_its_class_and_family(status, exc, family):
    err = error_for_response("GET", "/system/securityroles", status, {"code": "X", "message": "m"})
    assert type(err) is getattr(provider, exc)
    assert isinstance(err, family) and isinstance(err, ResponseError)
    assert err.status == status


def test_statuses_without_a_row_fall_back_by_family():
    other_4xx = error_for_response("GET", "/system/securityroles", 418, {"code": "Teapot", "message": "short"})
    assert type(other_4xx) is ClientError and "HTTP 418" in str(other_4xx) and "'short'" in str(other_4xx)
    odd = error_for_response("GET", "/system/securityroles", 302, None)
    assert type(odd) is ResponseError and "HTTP 302" in str(odd)


def test_errors_array_codes_pick_the_subclass():
    exists = error_for_response("POST", "/system/apiMembers", 400, {
        "code": "InvalidObject", "message": "x", "errors": [{"code": "ObjectExists", "field": "identifier"}]})
    assert type(exists) is ObjectExists and "same identifier already exists" in str(exists)
    in_use = error_for_response("DELETE", "/system/securityroles/4", 400, {
        "code": "InvalidObject", "message": "x", "errors": [{"code": "ObjectInUse", "field": "id"}]})
    assert type(in_use) is ObjectInUse and isinstance(in_use, InvalidObject) and "still in use" in str(in_use)
    plain = error_for_response("POST", "/system/securityroles", 400, {"code": "InvalidObject", "message": "x",
                                                                     "errors": "not a list"})
    assert type(plain) is InvalidObject and plain.errors == []


@pytest.mark.parametrize("method,path", [
    (m, e.path.replace("{id}", "7").replace("{parentId}", "3").replace("{memberIdentifier:str}", "svc"))
    for e in load_api_permissions().endpoints for m in e.methods
    if not e.path.startswith("/login")
])
def test_forbidden_names_the_permission_of_the_map(method, path):
    need = load_api_permissions().permission(method, path)
    err = error_for_response(method, path, 403, {"code": "Forbidden", "message": "denied"})
    assert isinstance(err, Forbidden)
    text = str(err)
    if need is None:
        assert "lacks the permission for this request" in text
    else:
        assert f"lacks {need}" in text and f"grant {need}" in text


def test_tokens_and_deactivate_hints_differ():
    tokens = str(error_for_response("POST", "/system/members/svc/tokens", 403, None))
    deactivate = str(error_for_response("POST", "/system/members/7/deactivate", 403, None))
    assert "lacks System › Member Maintenance › Add" in tokens and "impersonating the member" in tokens
    assert "lacks System › Member Maintenance › Edit" in deactivate and "deactivating the member" in deactivate


def test_request_is_described_in_words_from_the_map():
    assert "(reading the security role's permission settings)" in str(
        error_for_response("GET", "/system/securityRoles/3/settings", 404, {"code": "NotFound", "message": "x"}))
    assert "discovering the tenant's codebase" in str(
        error_for_response("GET", "/login/companyinfo/acme", 404, "<html>not here</html>"))
    assert "ConnectWise answered HTTP 418 to the request." in str(
        error_for_response("GET", "/unknown/path", 418, None))


def test_rate_limit_keeps_retry_after_and_text_bodies_are_quoted():
    err = error_for_response("GET", "/system/securityroles", 429, "slow down", retry_after=2.5)
    assert isinstance(err, RateLimited) and err.retry_after == 2.5
    assert "asked to wait 2.5s" in str(err) and "'slow down'" in str(err)
    big = error_for_response("GET", "/system/securityroles", 502, "x" * 1000)
    assert isinstance(big, ServerError) and len(big.cw_message or "") == 300


def test_unauthorized_names_the_company_never_the_keys():
    err = str(error_for_response("GET", "/system/securityroles", 401, {"code": "Unauthorized", "message": "no"},
                                 company_id="acme"))
    assert "for company 'acme'" in err and "connectwise:privateKey" in err
