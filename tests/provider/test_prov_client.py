"""The ConnectWise client: addressing, auth, paging, conditions, errors, retries, secrecy."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest
import respx

from cwroles.provider import (
    Client,
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidObject,
    MethodNotAllowed,
    NotFound,
    ObjectExists,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    Unauthorized,
)
from cwroles.provider import conditions as C

from prov_fakes import BASE, CLIENT_ID, CODEBASE, COMPANY, PRIVATE, PUBLIC, SITE


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def clock(self) -> float:
        return self.now


def make_client(ft: FakeTime | None = None, **policy) -> Client:
    ft = ft or FakeTime()
    pol = RetryPolicy(sleep=ft.sleep, clock=ft.clock, jitter=lambda: 1.0, **policy)
    return Client(SITE, COMPANY, PUBLIC, PRIVATE, CLIENT_ID, retry=pol)


# ---- addressing and headers --------------------------------------------------------------------


def test_discovers_codebase_once_and_sends_auth_clientid_and_version(cw):
    route = cw.get(f"{BASE}/system/securityroles/5").mock(return_value=httpx.Response(200, json={"id": 5, "name": "R"}))
    c = make_client()
    assert c.get_security_role(5).name == "R"
    c.get_security_role(5)
    assert cw.routes[0].call_count == 1  # companyinfo asked once
    req = route.calls[0].request
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(f"{COMPANY}+{PUBLIC}:{PRIVATE}".encode()).decode()
    assert req.headers["clientId"] == CLIENT_ID
    assert req.headers["Accept"] == "application/vnd.connectwise.com+json; version=2025.1"
    # discovery is unauthenticated
    assert "Authorization" not in cw.routes[0].calls[0].request.headers


def test_host_only_site_becomes_https_and_configured_codebase_skips_discovery():
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get("https://api-na.myconnectwise.net/v4_6_release/apis/3.0/system/securityroles/1").mock(
            return_value=httpx.Response(200, json={"id": 1, "name": "A"})
        )
        c = Client("api-na.myconnectwise.net", COMPANY, PUBLIC, PRIVATE, CLIENT_ID, codebase="v4_6_release",
                   api_version="2022.1")
        c.get_security_role(1)
        assert route.calls[0].request.headers["Accept"].endswith("version=2022.1")


def test_unknown_company_is_a_configuration_error():
    with respx.mock() as router:
        router.get(f"{SITE}/login/companyinfo/{COMPANY}").mock(return_value=httpx.Response(200, content=b"null"))
        with pytest.raises(ConfigurationError, match="does not know company 'acme'.*connectwise:companyId"):
            make_client().get_security_role(1)


# ---- pagination --------------------------------------------------------------------------------


def test_pagination_follows_link_next(cw):
    url = f"{BASE}/system/setupScreens"
    page2 = f"{url}?page=2&pageSize=1000"

    def handler(request: httpx.Request):
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json=[{"id": 3, "name": "C"}], headers={"Link": f'<{url}?page=1&pageSize=1000>; rel="first"'})
        assert request.url.params["pageSize"] == "1000"
        return httpx.Response(200, json=[{"id": 1, "name": "A"}, {"id": 2, "name": "B"}],
                              headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'})

    route = cw.get(url).mock(side_effect=handler)
    screens = make_client().list_setup_screens()
    assert [s.name for s in screens] == ["A", "B", "C"]
    assert route.call_count == 2


def test_pagination_without_link_asks_until_a_short_page(cw):
    url = f"{BASE}/system/setupScreens"
    pages = {"1": [{"id": i, "name": f"n{i}"} for i in range(3)], "2": [{"id": i, "name": f"n{i}"} for i in range(3, 6)],
             "3": [{"id": 6, "name": "n6"}]}
    route = cw.get(url).mock(side_effect=lambda r: httpx.Response(200, json=pages[r.url.params["page"]]))
    rows = make_client().list_all("/system/setupScreens", page_size=3)
    assert [r["id"] for r in rows] == list(range(7))
    assert route.call_count == 3


def test_one_short_page_is_one_request(cw):
    route = cw.get(f"{BASE}/system/setupScreens").mock(return_value=httpx.Response(200, json=[{"id": 1, "name": "A"}]))
    assert len(make_client().list_setup_screens()) == 1
    assert route.call_count == 1


# ---- conditions --------------------------------------------------------------------------------


def test_conditions_quote_and_escape():
    assert C.eq("name", 'Say "hi" \\ bye') == 'name = "Say \\"hi\\" \\\\ bye"'
    assert C.all_of(C.eq("identifier", "x"), C.eq("inactiveFlag", False)) == 'identifier = "x" and inactiveFlag = false'
    assert C.any_of(C.all_of(C.eq("a", 1), C.eq("b", None)), C.in_("id", [1, 2])) == "(a = 1 and b = null) or id in (1, 2)"
    assert C.eq("securityRole/name", "API") == 'securityRole/name = "API"'
    with pytest.raises(ValueError):
        C.eq('name = "x" or 1', "y")  # a field cannot carry an expression
    with pytest.raises(ValueError):
        C.cond("name", "; drop", "x")


def test_lookup_sends_quoted_conditions(cw):
    route = cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[]))
    assert make_client().find_api_member('we"ird') is None
    assert route.calls[0].request.url.params["conditions"] == 'identifier = "we\\"ird"'


# ---- error mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status,body,exc,words",
    [
        (400, {"code": "InvalidObject", "message": "Security role object is invalid",
               "errors": [{"code": "ObjectExists", "message": "The name is already in use", "field": "name"}]},
         ObjectExists, ["already exists", "ObjectExists", "'name'", "import_"]),
        (400, {"code": "InvalidObject", "message": "bad", "errors": [{"code": "Required", "field": "name", "message": "Name is required"}]},
         InvalidObject, ["invalid", "Name is required", "fix the field"]),
        (400, {"code": "InvalidObject", "message": "in use", "errors": [{"code": "ObjectInUse", "field": "id", "message": "assigned to 1 member(s): svc"}]},
         InvalidObject, ["still in use", "assigned to 1 member(s): svc", "deactivated API members included"]),
        (401, {"code": "Unauthorized", "message": "Invalid credentials"}, Unauthorized,
         ["did not accept the API keys", "connectwise:privateKey", "Invalid credentials"]),
        (404, {"code": "NotFound", "message": "Not found"}, NotFound, ["found nothing", "pulumi refresh"]),
        (405, {"code": "MethodNotAllowed", "message": "no"}, MethodNotAllowed, ["does not allow POST"]),
        (409, {"code": "Conflict", "message": "in use"}, Conflict, ["conflict", "in use"]),
        (500, {"code": "ServerError", "message": "boom"}, ServerError, ["server error", "boom"]),
    ],
)
def test_errors_are_typed_and_quote_connectwise(cw, status, body, exc, words):
    cw.post(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(status, json=body))
    cw.get(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(200, json=[]))
    c = make_client(max_retries=0)
    with pytest.raises(exc) as ei:
        c.request("POST", "/system/securityroles", json={"name": "x"}, idempotent=True)
    text = str(ei.value)
    for w in words:
        assert w in text
    assert "POST /system/securityroles" in text


def test_forbidden_names_the_missing_permission(cw):
    cw.post(f"{BASE}/system/apiMembers").mock(
        return_value=httpx.Response(403, json={"code": "Forbidden", "message": "You do not have access", "errors": []})
    )
    with pytest.raises(Forbidden) as ei:
        make_client().create_api_member({"identifier": "x", "name": "X"})
    msg = str(ei.value)
    assert "lacks System › Member Maintenance › Add" in msg
    assert "grant System › Member Maintenance › Add" in msg and "admin member" in msg
    assert "'You do not have access'" in msg


# ---- retries -----------------------------------------------------------------------------------


def test_429_honours_retry_after(cw):
    route = cw.get(f"{BASE}/system/securityroles/1").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "3"}, json={"code": "TooMany", "message": "slow down"}),
        httpx.Response(200, json={"id": 1, "name": "A"}),
    ])
    ft = FakeTime()
    assert make_client(ft).get_security_role(1).id == 1
    assert ft.sleeps == [3.0]
    assert route.call_count == 2


def test_retry_after_beyond_the_time_budget_gives_up_at_once(cw):
    cw.get(f"{BASE}/system/securityroles/1").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "120"}, json={"code": "TooMany", "message": "slow"})
    )
    ft = FakeTime()
    with pytest.raises(RateLimited, match="asked to wait 120s") as ei:
        make_client(ft, max_total=30).get_security_role(1)
    assert ft.sleeps == [] and ei.value.retry_after == 120


def test_5xx_and_connection_errors_back_off_exponentially_then_succeed(cw):
    route = cw.get(f"{BASE}/system/securityroles/1").mock(side_effect=[
        httpx.Response(503, text="upstream down"),
        httpx.ConnectError("refused"),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json={"id": 1, "name": "A"}),
    ])
    ft = FakeTime()
    assert make_client(ft, base_delay=0.5).get_security_role(1).name == "A"
    assert route.call_count == 4
    assert ft.sleeps == [0.5, 1.0, 2.0]


def test_retries_are_bounded_in_count(cw):
    route = cw.get(f"{BASE}/system/securityroles/1").mock(return_value=httpx.Response(500, json={"code": "X", "message": "down"}))
    ft = FakeTime()
    with pytest.raises(ServerError):
        make_client(ft, max_retries=2).get_security_role(1)
    assert route.call_count == 3


def test_retries_are_bounded_in_total_time(cw):
    route = cw.get(f"{BASE}/system/securityroles/1").mock(return_value=httpx.Response(500, json={"code": "X", "message": "down"}))
    ft = FakeTime()
    with pytest.raises(ServerError):
        make_client(ft, max_retries=100, base_delay=1, max_delay=4, max_total=10).get_security_role(1)
    assert ft.now <= 10
    assert sum(ft.sleeps) <= 10 and route.call_count == len(ft.sleeps) + 1
    assert ft.sleeps[:3] == [1, 2, 4]


def test_real_sleeps_with_tiny_delays_stay_fast(cw):
    cw.get(f"{BASE}/system/securityroles/1").mock(return_value=httpx.Response(503, text="down"))
    c = Client(SITE, COMPANY, PUBLIC, PRIVATE, CLIENT_ID, retry=RetryPolicy(max_retries=3, base_delay=0.001, max_total=1))
    with pytest.raises(ServerError):
        c.get_security_role(1)


# ---- never a blind duplicate POST --------------------------------------------------------------


def test_ambiguous_create_looks_up_before_repeating(cw):
    post = cw.post(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(500, json={"code": "X", "message": "timeout"}))
    lookup = cw.get(f"{BASE}/system/securityroles").mock(
        return_value=httpx.Response(200, json=[{"id": 77, "name": "Integration"}])
    )
    role = make_client().create_security_role("Integration")
    assert role.id == 77
    assert post.call_count == 1
    assert lookup.calls[0].request.url.params["conditions"] == 'name = "Integration"'


def test_ambiguous_create_repeats_only_after_seeing_it_absent(cw):
    post = cw.post(f"{BASE}/system/apiMembers").mock(side_effect=[
        httpx.ReadTimeout("read timed out"),
        httpx.Response(201, json={"id": 9, "identifier": "svc"}),
    ])
    lookup = cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[]))
    ft = FakeTime()
    m = make_client(ft).create_api_member({"identifier": "svc", "name": "Svc"})
    assert m.id == 9
    assert post.call_count == 2 and lookup.call_count == 1


def test_ambiguous_create_without_budget_raises_after_one_post(cw):
    post = cw.post(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(502, text="bad gateway"))
    cw.get(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(200, json=[]))
    with pytest.raises(ServerError):
        make_client(max_retries=0).create_security_role("X")
    assert post.call_count == 1


def test_rate_limited_post_is_retried_because_it_was_refused(cw):
    post = cw.post(f"{BASE}/system/securityroles").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.Response(201, json={"id": 3, "name": "X"}),
    ])
    assert make_client().create_security_role("X").id == 3
    assert post.call_count == 2


# ---- secrets -----------------------------------------------------------------------------------


def test_credentials_never_in_errors_reprs_or_logs(cw, caplog):
    caplog.set_level(logging.DEBUG)
    cw.get(f"{BASE}/system/securityroles/1").mock(side_effect=[
        httpx.Response(503, text="down"),
        httpx.Response(401, json={"code": "Unauthorized", "message": "bad keys"}),
    ])
    cw.post(f"{BASE}/system/members/svc/tokens").mock(
        return_value=httpx.Response(200, json={"publicKey": "tokPUB", "privateKey": "tokPRIVATE", "expiration": "x"})
    )
    c = make_client()
    with pytest.raises(Unauthorized) as ei:
        c.get_security_role(1)
    token = c.create_member_token("svc")
    impersonated = c.as_member(token)
    b64 = base64.b64encode(f"{COMPANY}+{PUBLIC}:{PRIVATE}".encode()).decode()
    texts = [str(ei.value), repr(ei.value), repr(c), repr(impersonated), repr(token), str(token), caplog.text]
    for t in texts:
        for secret in (PRIVATE, b64, "tokPRIVATE"):
            assert secret not in t


def test_transport_failure_message_is_plain(cw):
    cw.get(f"{BASE}/system/securityroles/1").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(TransportError, match="could not reach ConnectWise at https://cw.test") as ei:
        make_client(max_retries=1).get_security_role(1)
    assert PRIVATE not in str(ei.value)


def test_impersonation_uses_token_keys(cw):
    cw.post(f"{BASE}/system/members/svc/tokens").mock(
        return_value=httpx.Response(200, json={"publicKey": "tp", "privateKey": "ts", "expiration": "2030-01-01T00:00:00Z"})
    )
    items = cw.get(f"{BASE}/system/mySecurity/customizeItems/").mock(
        return_value=httpx.Response(200, json=[{"id": 1, "customizeIdentifier": "SystemTableSetup", "itemIdentifier": "Service / Service Board"}])
    )
    c = make_client()
    tok = c.create_member_token("svc")
    assert cw.routes[1].calls[0].request.headers["x-cw-usertype"] == "member"
    got = c.as_member(tok).my_customize_items()
    assert got[0].item_identifier == "Service / Service Board"
    assert items.calls[0].request.headers["Authorization"] == "Basic " + base64.b64encode(f"{COMPANY}+tp:ts".encode()).decode()
    assert json.loads(cw.routes[1].calls[0].request.content) == {"memberIdentifier": "svc"}
