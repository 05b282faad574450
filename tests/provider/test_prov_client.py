"""The ConnectWise client: addressing, auth, paging, conditions, errors, retries, secrecy."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest
import respx

from cwroles.provider import (
    ConnectWiseError,
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

from prov_fakes import BASE, CLIENT_ID, COMPANY, PRIVATE, PUBLIC, SITE


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


# ---- a POST through request() is never blindly repeated (issue: duplicate-create risk) -------------------------


@pytest.mark.parametrize("answer, error", [
    (httpx.Response(503, headers={"Retry-After": "0"}, json={"code": "ServerError", "message": "busy"}), ServerError),
    (httpx.Response(500, json={"code": "ServerError", "message": "boom"}), ServerError),
    (httpx.Response(502, text="bad gateway"), ServerError),
    (httpx.ReadTimeout("read timed out"), TransportError),
    (httpx.RemoteProtocolError("peer closed"), TransportError),
])
def test_post_through_request_answered_ambiguously_is_sent_once_then_raises(cw, answer, error):
    post = cw.post(f"{BASE}/system/securityroles").mock(side_effect=[answer, httpx.Response(201, json={"id": 1})])
    ft = FakeTime()
    with pytest.raises(error) as ei:
        make_client(ft).request("POST", "/system/securityroles", json={"name": "X"})
    assert post.call_count == 1 and ft.sleeps == []
    assert "POST /system/securityroles" in str(ei.value)


def test_post_answered_503_returns_no_value_it_raises(cw):
    cw.post(f"{BASE}/system/apiMembers/9/ping").mock(return_value=httpx.Response(503, text="down"))
    c = make_client(max_retries=3)
    result = "not called"
    with pytest.raises(ServerError):
        result = c.request("POST", "/system/apiMembers/9/ping")
    assert result == "not called"


def test_post_marked_idempotent_is_retried_like_a_get(cw):
    post = cw.post(f"{BASE}/system/members/5/deactivate").mock(side_effect=[
        httpx.Response(503, text="down"), httpx.ReadTimeout("slow"), httpx.Response(204)])
    ft = FakeTime()
    make_client(ft).deactivate_member(5)
    assert post.call_count == 3 and ft.sleeps == [0.5, 1.0]


def test_post_that_never_left_is_retried(cw):
    """A connection that could not be opened sent nothing: repeating the POST cannot duplicate anything."""
    post = cw.post(f"{BASE}/system/securityroles").mock(side_effect=[
        httpx.ConnectError("refused"), httpx.ConnectTimeout("slow dns"), httpx.Response(201, json={"id": 4})])
    ft = FakeTime()
    resp = make_client(ft).request("POST", "/system/securityroles", json={"name": "X"})
    assert resp.json() == {"id": 4} and post.call_count == 3 and ft.sleeps == [0.5, 1.0]


def test_post_rate_limited_through_request_waits_and_retries(cw):
    post = cw.post(f"{BASE}/system/securityroles").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(201, json={"id": 5})])
    ft = FakeTime()
    assert make_client(ft).request("POST", "/system/securityroles", json={}).status_code == 201
    assert post.call_count == 2 and ft.sleeps == [2.0]


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_idempotent_and_retried(cw, method):
    route = cw.route(method=method, url=f"{BASE}/system/apiMembers/3").mock(side_effect=[
        httpx.Response(503, text="down"), httpx.Response(200, json={"id": 3})])
    ft = FakeTime()
    assert make_client(ft).request(method.lower(), "/system/apiMembers/3").json() == {"id": 3}
    assert route.call_count == 2 and ft.sleeps == [0.5]


def test_idempotent_false_is_never_repeated_whatever_the_method(cw):
    route = cw.patch(f"{BASE}/system/apiMembers/3").mock(return_value=httpx.Response(503, text="down"))
    with pytest.raises(ServerError):
        make_client().request("PATCH", "/system/apiMembers/3", json=[], idempotent=False)
    assert route.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 422])
def test_client_errors_are_not_retried(cw, status):
    route = cw.get(f"{BASE}/system/securityroles/1").mock(
        return_value=httpx.Response(status, json={"code": "X", "message": "no"}))
    ft = FakeTime()
    with pytest.raises(Exception) as ei:
        make_client(ft).get_security_role(1)
    assert route.call_count == 1 and ft.sleeps == []
    assert ei.value.status == status


def test_retry_after_on_a_5xx_is_honoured_for_reads(cw):
    cw.get(f"{BASE}/system/securityroles/1").mock(side_effect=[
        httpx.Response(503, headers={"Retry-After": "4"}, text="maintenance"), httpx.Response(200, json={"id": 1, "name": "A"})])
    ft = FakeTime()
    make_client(ft).get_security_role(1)
    assert ft.sleeps == [4.0]


def test_a_retry_is_logged_with_its_number_and_wait(cw, caplog):
    caplog.set_level(logging.WARNING, logger="cwroles.provider")
    cw.get(f"{BASE}/system/securityroles/1").mock(side_effect=[
        httpx.Response(503, text="a"), httpx.Response(502, text="b"), httpx.Response(200, json={"id": 1, "name": "A"})])
    make_client().get_security_role(1)
    assert [r.getMessage() for r in caplog.records] == [
        "ConnectWise GET /system/securityroles/1 failed (503); retry 1 in 0.50s",
        "ConnectWise GET /system/securityroles/1 failed (502); retry 2 in 1.00s",
    ]


# ---- create(): look before repeating, wait between tries -----------------------------------------------------


def test_ambiguous_create_waits_before_the_second_post(cw):
    post = cw.post(f"{BASE}/system/apiMembers").mock(side_effect=[
        httpx.Response(502, text="bad gateway"), httpx.Response(201, json={"id": 9, "identifier": "svc"})])
    cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[]))
    ft = FakeTime()
    make_client(ft).create_api_member({"identifier": "svc", "name": "Svc"})
    assert post.call_count == 2 and ft.sleeps == [0.5]


def test_ambiguous_create_honours_the_servers_retry_after(cw):
    cw.post(f"{BASE}/system/apiMembers").mock(side_effect=[
        httpx.Response(503, headers={"Retry-After": "3"}, text="busy"), httpx.Response(201, json={"id": 9, "identifier": "svc"})])
    cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[]))
    ft = FakeTime()
    make_client(ft).create_api_member({"identifier": "svc", "name": "Svc"})
    assert ft.sleeps == [3.0]


def test_ambiguous_create_gives_up_when_the_budget_is_spent_looking_each_time(cw):
    post = cw.post(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(500, json={"code": "X", "message": "down"}))
    lookup = cw.get(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(200, json=[]))
    ft = FakeTime()
    with pytest.raises(ServerError, match="down"):
        make_client(ft, max_retries=2).create_security_role("X")
    assert post.call_count == 3 and lookup.call_count == 3 and ft.sleeps == [0.5, 1.0]


def test_ambiguous_create_finds_the_object_on_a_later_try(cw):
    cw.post(f"{BASE}/system/securityroles").mock(side_effect=[
        httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow again")])
    lookup = cw.get(f"{BASE}/system/securityroles").mock(side_effect=[
        httpx.Response(200, json=[]), httpx.Response(200, json=[{"id": 12, "name": "X"}])])
    ft = FakeTime()
    assert make_client(ft).create_security_role("X").id == 12
    assert lookup.call_count == 2 and ft.sleeps == [0.5]


def test_create_that_succeeds_parses_the_answer_without_looking_up(cw):
    cw.post(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(201, json={"id": 8, "name": "X"}))
    lookup = cw.get(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(200, json=[]))
    role = make_client().create_security_role("X", role_type="API", admin_flag=False)
    assert role.id == 8 and lookup.call_count == 0
    assert json.loads(cw.routes[1].calls[0].request.content) == {"name": "X", "adminFlag": False, "roleType": "API"}


def test_create_refused_is_raised_at_once(cw):
    post = cw.post(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(400, json={
        "code": "InvalidObject", "message": "bad", "errors": [{"code": "ObjectExists", "field": "name", "message": "in use"}]}))
    lookup = cw.get(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(200, json=[]))
    with pytest.raises(ObjectExists) as e:
        make_client().create_security_role("X")
    assert post.call_count == 1 and lookup.call_count == 0
    assert (e.value.method, e.value.status) == ("POST", 400)  # the error names the request as sent


# ---- configuration and addressing ----------------------------------------------------------------------------


@pytest.mark.parametrize("site, url", [
    ("api-na.myconnectwise.net", "https://api-na.myconnectwise.net"),
    ("  api-eu.myconnectwise.net/  ", "https://api-eu.myconnectwise.net"),
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("https://cw.example.com//", "https://cw.example.com"),
    ("https://PSA.EXAMPLE.BOX/", "https://PSA.EXAMPLE.BOX"),  # only slashes are trimmed
])
def test_normalize_site(site, url):
    from cwroles.provider._client import normalize_site
    assert normalize_site(site) == url


def test_empty_site_is_a_configuration_error():
    from cwroles.provider._client import normalize_site
    with pytest.raises(ConfigurationError, match="connectwise:site is empty") as ei:
        normalize_site("   ")
    assert "api-na.myconnectwise.net" in str(ei.value)


@pytest.mark.parametrize("raw, codebase", [("v4_6_release", "v4_6_release/"), ("/v2025_1/", "v2025_1/"),
                                           (" v2025_1 ", "v2025_1/"), ("", ""), ("/", ""),
                                           ("/vX2025_1X/", "vX2025_1X/")])
def test_normalize_codebase(raw, codebase):
    from cwroles.provider._client import normalize_codebase
    assert normalize_codebase(raw) == codebase


@pytest.mark.parametrize("company, public, private, client_id, words, hint", [
    ("", PUBLIC, PRIVATE, CLIENT_ID, "connectwise:companyId is empty", "the company id you type at login"),
    (COMPANY, "", PRIVATE, CLIENT_ID, "key pair is incomplete", "connectwise:publicKey and connectwise:privateKey"),
    (COMPANY, PUBLIC, "", CLIENT_ID, "key pair is incomplete", "CONNECTWISE_PUBLIC_KEY / CONNECTWISE_PRIVATE_KEY"),
    (COMPANY, "", "", CLIENT_ID, "key pair is incomplete", "(as secrets)"),
    (COMPANY, PUBLIC, PRIVATE, "", "connectwise:clientId is empty", "clientId from developer.connectwise.com"),
])
def test_incomplete_settings_are_configuration_errors(company, public, private, client_id, words, hint):
    with pytest.raises(ConfigurationError, match=words) as ei:
        Client(SITE, company, public, private, client_id)
    assert hint in str(ei.value)


def test_client_defaults_and_repr():
    c = Client(SITE, COMPANY, PUBLIC, PRIVATE, CLIENT_ID, codebase="/v2025_1/", api_version="")
    assert c.api_version == "2025.1" and c.retry == RetryPolicy() and c.company_id == COMPANY
    assert c.base_url == f"{SITE}/v2025_1/apis/3.0"
    assert repr(c) == "Client(site='https://cw.test', company_id='acme', codebase='v2025_1/')"
    assert c._http.timeout.read == 30.0 and c._http.follow_redirects is False
    assert c._http.headers["Cache-Control"] == "no-cache"
    with c as same:
        assert same is c
    assert c._http.is_closed


def test_companyinfo_without_a_codebase_is_a_configuration_error():
    with respx.mock() as router:
        router.get(f"{SITE}/login/companyinfo/{COMPANY}").mock(return_value=httpx.Response(200, json={"CompanyName": "A"}))
        with pytest.raises(ConfigurationError, match="answered companyinfo without a Codebase.*connectwise:codebase") as ei:
            make_client().get_security_role(1)
    assert ei.value.method == "GET" and ei.value.path == f"/login/companyinfo/{COMPANY}"


@pytest.mark.parametrize("companyinfo, codebase", [
    ({"Codebase": "v2025_1/"}, "v2025_1/"), ({"codebase": "/v2025_2/"}, "v2025_2/"), ({"Codebase": 5}, None),
])
def test_the_codebase_comes_from_companyinfo_in_either_spelling(companyinfo, codebase):
    with respx.mock() as router:
        router.get(f"{SITE}/login/companyinfo/{COMPANY}").mock(return_value=httpx.Response(200, json=companyinfo))
        if codebase is None:
            with pytest.raises(ConfigurationError, match="answered companyinfo without a Codebase"):
                assert make_client().codebase is None  # never reached: discovery raises
        else:
            assert make_client().codebase == codebase


def test_companyinfo_failure_names_the_request():
    with respx.mock() as router:
        router.get(f"{SITE}/login/companyinfo/{COMPANY}").mock(return_value=httpx.Response(404, text="no"))
        with pytest.raises(NotFound) as ei:
            make_client().get_security_role(1)
    assert (ei.value.method, ei.value.path) == ("GET", f"/login/companyinfo/{COMPANY}")
    assert f"GET /login/companyinfo/{COMPANY}" in str(ei.value)


def test_companyinfo_that_is_not_json_means_an_unknown_company():
    with respx.mock() as router:
        router.get(f"{SITE}/login/companyinfo/{COMPANY}").mock(return_value=httpx.Response(200, text="<html>"))
        with pytest.raises(ConfigurationError, match="does not know company 'acme'") as ei:
            make_client().get_security_role(1)
    assert ei.value.method == "GET" and ei.value.path == f"/login/companyinfo/{COMPANY}"


def test_companyinfo_is_retried_like_any_read():
    with respx.mock() as router:
        info = router.get(f"{SITE}/login/companyinfo/{COMPANY}").mock(side_effect=[
            httpx.Response(503, text="down"), httpx.Response(200, json={"Codebase": "v2025_1/"})])
        router.get(f"{BASE}/system/securityroles/1").mock(return_value=httpx.Response(200, json={"id": 1, "name": "A"}))
        ft = FakeTime()
        make_client(ft).get_security_role(1)
    assert info.call_count == 2 and ft.sleeps == [0.5]


def test_paths_and_absolute_urls(cw):
    c = make_client()
    assert c._url("system/securityroles") == f"{BASE}/system/securityroles"
    assert c._url("/system/securityroles") == f"{BASE}/system/securityroles"
    assert c._url("https://other.test/x") == "https://other.test/x"
    assert c._url("http://other.test/x") == "http://other.test/x"
    assert c._path_of(f"{BASE}/system/securityroles/1?conditions=x") == "/system/securityroles/1"
    assert c._path_of("https://other.test/plain") == "/plain"
    assert c._path_of(f"{BASE}/system/apis/3.0/again") == "/system/apis/3.0/again"  # only the first marker


def test_request_sends_params_json_and_extra_headers_only_when_given(cw):
    route = cw.put(f"{BASE}/system/apiMembers/3").mock(return_value=httpx.Response(200, json={}))
    c = make_client()
    c.request("PUT", "/system/apiMembers/3", params={"a": "1"}, json={"b": 2}, headers={"x-extra": "y"})
    req = route.calls[0].request
    assert req.url.params["a"] == "1" and json.loads(req.content) == {"b": 2} and req.headers["x-extra"] == "y"
    c.request("PUT", "/system/apiMembers/3", json=[])  # an empty JSON list is still a body
    req = route.calls[1].request
    assert req.content == b"[]" and "a" not in req.url.params and "x-extra" not in req.headers
    c.request("PUT", "/system/apiMembers/3")
    assert route.calls[2].request.content == b""


# ---- pagination limits ---------------------------------------------------------------------------------------


def test_pagination_stops_after_max_pages(cw):
    cw.get(f"{BASE}/system/setupScreens").mock(side_effect=lambda r: httpx.Response(200, json=[{"id": 1}, {"id": 2}]))
    c = make_client()
    with pytest.raises(ConnectWiseError, match="stopped paging /system/setupScreens after 3 pages"):
        c.list_all("/system/setupScreens", page_size=2, max_pages=3)


def test_pagination_rejects_a_non_list_body(cw):
    cw.get(f"{BASE}/system/setupScreens").mock(return_value=httpx.Response(200, json={"id": 1}))
    with pytest.raises(ConnectWiseError, match="answered /system/setupScreens with a non-list body"):
        make_client().list_all("/system/setupScreens")


def test_pagination_of_an_empty_body_is_an_empty_list(cw):
    cw.get(f"{BASE}/system/setupScreens").mock(return_value=httpx.Response(200, content=b"null",
                                                                             headers={"content-type": "application/json"}))
    assert make_client().list_all("/system/setupScreens") == []


def test_pagination_never_follows_a_link_to_another_host(cw):
    url = f"{BASE}/system/setupScreens"

    def handler(request: httpx.Request):
        page = request.url.params.get("page")
        rows = [{"id": 1}, {"id": 2}] if page == "1" else [{"id": 3}]
        return httpx.Response(200, json=rows, headers={"Link": '<https://evil.test/steal?page=2>; rel="next"'})

    route = cw.get(url).mock(side_effect=handler)
    rows = make_client().list_all("/system/setupScreens", page_size=2)
    assert [r["id"] for r in rows] == [1, 2, 3]  # paged on by number, on the tenant's own host
    assert [c.request.url.host for c in route.calls] == ["cw.test", "cw.test"]


def test_pagination_sends_conditions_fields_and_order(cw):
    route = cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[]))
    make_client().list_all("/system/apiMembers", conditions="a = 1", fields="id,name", order_by="id desc")
    params = route.calls[0].request.url.params
    assert (params["page"], params["pageSize"], params["conditions"], params["fields"], params["orderBy"]) == \
        ("1", "1000", "a = 1", "id,name", "id desc")
    make_client().list_all("/system/apiMembers")
    assert set(route.calls[1].request.url.params) == {"page", "pageSize"}


# ---- lookups and member calls --------------------------------------------------------------------------------


def test_find_by_name_matches_case_insensitively_and_only_exactly(cw):
    cw.get(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(200, json=[
        {"id": 1, "name": "Mobius Extra"}, {"id": 2, "name": "MOBIUS"}]))
    cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[
        {"id": 3, "identifier": "SVC-x"}, {"id": 4, "identifier": "SVC"}]))
    cw.get(f"{BASE}/system/members").mock(return_value=httpx.Response(200, json=[
        {"id": 5, "identifier": "svc2"}, {"id": 6, "identifier": "Svc"}]))
    c = make_client()
    assert c.find_security_role("mobius").id == 2
    assert c.find_api_member("svc").id == 4
    assert c.find_member("svc").id == 6
    assert c.find_security_role("nobody") is None and c.find_api_member("nobody") is None
    assert c.find_member("nobody") is None


def test_member_calls_hit_their_endpoints(cw):
    patch = cw.patch(f"{BASE}/system/apiMembers/7").mock(return_value=httpx.Response(200, json={"id": 7, "identifier": "s"}))
    defaults = cw.get(f"{BASE}/system/apiMembers/default").mock(return_value=httpx.Response(200, json={"id": 0}))
    deact = cw.post(f"{BASE}/system/members/7/deactivate").mock(return_value=httpx.Response(204))
    settings = cw.get(f"{BASE}/system/securityRoles/4/settings").mock(return_value=httpx.Response(200, json=[]))
    delete = cw.delete(f"{BASE}/system/securityroles/4").mock(return_value=httpx.Response(204))
    got = cw.get(f"{BASE}/system/apiMembers/7").mock(return_value=httpx.Response(200, json={"id": 7, "identifier": "s"}))
    c = make_client()
    ops = [{"op": "replace", "path": "name", "value": "S"}]
    assert c.patch_api_member(7, ops).id == 7 and json.loads(patch.calls[0].request.content) == ops
    assert c.api_member_defaults() == {"id": 0} and defaults.call_count == 1
    c.deactivate_member(7)
    assert json.loads(deact.calls[0].request.content) == {}
    c.deactivate_member(7, {"reason": "gone"})
    assert json.loads(deact.calls[1].request.content) == {"reason": "gone"}
    assert c.list_role_settings(4) == [] and settings.call_count == 1
    c.delete_security_role(4)
    assert delete.call_count == 1
    assert c.get_api_member(7).identifier == "s" and got.call_count == 1


def test_api_member_defaults_of_an_empty_answer_are_empty(cw):
    cw.get(f"{BASE}/system/apiMembers/default").mock(return_value=httpx.Response(200, content=b"null",
                                                                                headers={"content-type": "application/json"}))
    assert make_client().api_member_defaults() == {}


def test_token_post_is_retried_because_a_second_token_is_harmless(cw):
    post = cw.post(f"{BASE}/system/members/svc/tokens").mock(side_effect=[
        httpx.Response(503, text="down"), httpx.Response(201, json={"publicKey": "p", "privateKey": "s", "expiration": "x"})])
    tok = make_client().create_member_token("svc")
    assert post.call_count == 2 and tok.public_key.get_secret_value() == "p"


def test_impersonation_keeps_the_original_client_and_shares_the_pool(cw):
    cw.post(f"{BASE}/system/members/svc/tokens").mock(
        return_value=httpx.Response(200, json={"publicKey": "tp", "privateKey": "ts", "expiration": "x"}))
    route = cw.get(f"{BASE}/system/securityroles/1").mock(return_value=httpx.Response(200, json={"id": 1, "name": "A"}))
    c = make_client()
    other = c.as_member(c.create_member_token("svc"))
    assert other is not c and other._http is c._http and other.site == c.site
    c.get_security_role(1)
    auth = base64.b64encode(f"{COMPANY}+{PUBLIC}:{PRIVATE}".encode()).decode()
    assert route.calls[0].request.headers["Authorization"] == f"Basic {auth}"  # the original is unchanged



def test_a_custom_transport_carries_every_request():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(200, json={"id": 1, "name": "A"})

    c = Client(SITE, COMPANY, PUBLIC, PRIVATE, CLIENT_ID, codebase="v2025_1", transport=httpx.MockTransport(handler))
    assert c.get_security_role(1).name == "A"
    assert seen == [("GET", "/v2025_1/apis/3.0/system/securityroles/1")]


def test_errors_carry_the_request_and_what_connectwise_said(cw):
    cw.get(f"{BASE}/system/securityroles/1").mock(return_value=httpx.Response(502, text="bad gateway from lb"))
    cw.get(f"{BASE}/system/securityroles/2").mock(return_value=httpx.Response(401, json={"code": "Unauthorized", "message": "x"}))
    cw.get(f"{BASE}/system/securityroles/3").mock(side_effect=httpx.ConnectError("refused"))
    cw.get(f"{BASE}/system/securityroles/4").mock(side_effect=httpx.ReadError("reset"))
    c = make_client(max_retries=0)
    with pytest.raises(ServerError, match="bad gateway from lb"):
        c.get_security_role(1)
    with pytest.raises(Unauthorized, match="did not accept the API keys for company 'acme'"):
        c.get_security_role(2)
    with pytest.raises(TransportError) as ei:
        c.get_security_role(3)
    assert (ei.value.method, ei.value.path) == ("GET", "/system/securityroles/3")
    assert "could not reach ConnectWise at https://cw.test (ConnectError)" in str(ei.value)
    assert "check connectwise:site and your network" in str(ei.value)
    with pytest.raises(TransportError) as ei:
        c.get_security_role(4)
    assert (ei.value.method, ei.value.path) == ("GET", "/system/securityroles/4")
    assert "failed mid-request (ReadError)" in str(ei.value)
    assert "the provider checks whether a create went through" in str(ei.value)


def test_a_transport_retry_is_logged_with_the_error_type(cw, caplog):
    caplog.set_level(logging.WARNING, logger="cwroles.provider")
    cw.get(f"{BASE}/system/securityroles/1").mock(side_effect=[
        httpx.ConnectError("refused"), httpx.Response(200, json={"id": 1, "name": "A"})])
    make_client().get_security_role(1)
    assert [r.getMessage() for r in caplog.records] == [
        "ConnectWise GET /system/securityroles/1 failed (TransportError); retry 1 in 0.50s"]


def test_ambiguous_create_that_finds_the_object_says_so_and_sends_its_keys(cw, caplog):
    caplog.set_level(logging.WARNING, logger="cwroles.provider")
    post = cw.post(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(504, text="gateway timeout"))
    lookup = cw.get(f"{BASE}/system/apiMembers").mock(
        return_value=httpx.Response(200, json=[{"id": 21, "identifier": "svc"}]))
    assert make_client().create_api_member({"identifier": "svc", "name": "Svc"}).id == 21
    assert lookup.calls[0].request.url.params["conditions"] == 'identifier = "svc"'
    auth = base64.b64encode(f"{COMPANY}+{PUBLIC}:{PRIVATE}".encode()).decode()
    assert post.calls[0].request.headers["Authorization"] == f"Basic {auth}"
    assert [r.getMessage() for r in caplog.records] == [
        "ConnectWise POST /system/apiMembers outcome was unknown; the object exists, using it"]


@pytest.mark.parametrize("kwargs, admin", [({}, False), ({"admin_flag": True}, True)])
def test_create_security_role_sends_the_admin_flag(cw, kwargs, admin):
    post = cw.post(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(201, json={"id": 8, "name": "X"}))
    make_client().create_security_role("X", **kwargs)
    assert json.loads(post.calls[0].request.content) == {"name": "X", "adminFlag": admin}


def test_find_member_sends_its_condition(cw):
    route = cw.get(f"{BASE}/system/members").mock(return_value=httpx.Response(200, json=[]))
    assert make_client().find_member("svc") is None
    assert route.calls[0].request.url.params["conditions"] == 'identifier = "svc"'


@pytest.mark.parametrize("searched", ["none", "xxxx"])
def test_a_row_without_the_field_never_matches(cw, searched):
    cw.get(f"{BASE}/system/securityroles").mock(return_value=httpx.Response(200, json=[{"id": 1}]))
    cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[{"id": 2}]))
    cw.get(f"{BASE}/system/members").mock(return_value=httpx.Response(200, json=[{"id": 3}]))
    c = make_client()
    assert c.find_security_role(searched) is None
    assert c.find_api_member(searched) is None
    assert c.find_member(searched) is None


def test_get_json_passes_its_parameters(cw):
    route = cw.get(f"{BASE}/system/info").mock(return_value=httpx.Response(200, json={"ok": True}))
    assert make_client().get_json("/system/info", params={"fields": "id"}) == {"ok": True}
    assert route.calls[0].request.url.params["fields"] == "id"


def test_pagination_stops_at_a_thousand_pages_by_default(cw):
    route = cw.get(f"{BASE}/system/setupScreens").mock(side_effect=lambda r: httpx.Response(200, json=[{"id": 1}]))
    with pytest.raises(ConnectWiseError, match="after 1000 pages"):
        make_client().list_all("/system/setupScreens", page_size=1)
    assert route.call_count == 1000
