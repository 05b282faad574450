"""RolePermissions: validation, verify-never-write create/update, drift in diff/read, Customize checks."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pulumi.runtime import rpc

from cwroles.provider import RoleOutOfSync, RolePermissionsProvider

from prov_fakes import BASE, settings_rows

P = RolePermissionsProvider()
ROLE = {"id": 12, "name": "Acme Integration"}

GRANTS = [
    {"module": "Companies", "function": "Company Maintenance", "inquire": "All"},
    {"module": "Service Desk", "function": "Service Tickets", "add": "All", "edit": "All", "inquire": "All"},
]
LIVE_OK = {
    ("Companies", "Company Maintenance"): {"inquire": "All"},
    ("Service Desk", "Service Tickets"): {"add": "All", "edit": "All", "inquire": "All"},
}


def inputs(**kw):
    base = {"role_id": 12, "role_name": "Acme Integration", "grants": GRANTS, "customize": None, "integration": "acme",
            "features": [], "waivers": None, "checklist_dir": None, "member_identifier": None}
    base.update(kw)
    return P.check({}, base).inputs


def mock_role(cw, levels, role=ROLE):
    r = cw.get(f"{BASE}/system/securityroles/12").mock(return_value=httpx.Response(200, json=role))
    s = cw.get(f"{BASE}/system/securityRoles/12/settings").mock(return_value=httpx.Response(200, json=settings_rows(levels)))
    return r, s


# ---- check -------------------------------------------------------------------------------------


def reasons(news):
    return [f.reason for f in P.check({}, {"role_id": 12, "role_name": "R", **news}).failures]


def test_unknown_module_and_function_name_the_closest_entries():
    (msg,) = reasons({"grants": [{"module": "Service Dsk", "function": "Service Tickets", "add": "All"}]})
    assert "unknown module 'Service Dsk'" in msg and "'Service Desk'" in msg and msg.startswith("grants[0]")
    (msg,) = reasons({"grants": [{"module": "Service Desk", "function": "Service Tickts", "add": "All"}]})
    assert "unknown function Service Desk › 'Service Tickts'" in msg and "'Service Tickets'" in msg


def test_invalid_level_duplicates_and_unknown_keys():
    (msg,) = reasons({"grants": [{"module": "Companies", "function": "Contacts", "edit": "Mine"}]})
    assert msg == "grants[0].edit (Companies › Contacts): Edit 'Mine' is not a level; use None, My or All"
    msgs = reasons({"grants": [{"module": "Companies", "function": "Contacts", "add": "All"},
                               {"module": "companies", "function": "contacts", "inquire": "All"}]})
    assert msgs == ["grants[1]: duplicate grant for Companies › Contacts (also grants[0]); merge them into one"]
    (msg,) = reasons({"grants": [{"module": "Companies", "function": "Contacts", "inqure": "All"}]})
    assert msg.startswith("grants[0].inqure: unknown key 'inqure'; did you mean 'inquire'? allowed: module, function")


def test_bad_waiver_and_customize_items():
    (msg,) = reasons({"grants": [{"module": "Companies", "function": "Contacts", "add": "All",
                                  "waiver": {"justification": "x", "approved_by": "y", "expires": "next year"}}]})
    assert "waiver expires 'next year' is not a date; write it as YYYY-MM-DD" in msg
    (msg,) = reasons({"grants": [], "customize": {"System › Table Setup": ["Service / Service Bord"]}})
    assert "unknown Table Setup table 'Service / Service Bord'" in msg and "'Service / Service Board'" in msg
    (msg,) = reasons({"grants": [], "customize": {"Companies › Contacts": ["x"]}})
    assert "has no Customize list" in msg and "System › Table Setup" in msg


def test_role_name_limit_and_unknowns_are_skipped():
    assert any("at most 30" in r for r in reasons({"role_name": "r" * 31, "grants": []}))
    r = P.check({}, {"role_id": rpc.UNKNOWN, "role_name": rpc.UNKNOWN,
                     "grants": [{"module": "Companies", "function": rpc.UNKNOWN}], "customize": rpc.UNKNOWN})
    assert r.failures == []


def test_check_normalises_spellings_and_keeps_manifest_metadata():
    r = P.check({}, {"role_id": "12", "role_name": "R", "grants": [
        {"module": "Company module", "function": "company maintenance", "inquire": "all", "reason": "sync", "source": "p1",
         "waiver": {"justification": "j", "approved_by": "a", "expires": "2030-01-31"}}],
        "customize": {"System > Table Setup": ["service/service board"]}})
    assert r.failures == []
    assert r.inputs["role_id"] == 12
    assert r.inputs["grants"] == [{"module": "Companies", "function": "Company Maintenance", "add": "None", "edit": "None",
                                   "delete": "None", "inquire": "All", "reason": "sync", "source": "p1",
                                   "waiver": {"justification": "j", "approved_by": "a", "expires": "2030-01-31"}}]
    assert r.inputs["customize"] == {"System › Table Setup": ["Service / Service Board"]}


# ---- create / update ---------------------------------------------------------------------------


def test_create_succeeds_when_live_matches_with_one_request(cw):
    role, settings = mock_role(cw, LIVE_OK)
    res = P.create({**inputs(role_id=12.0), "__provider": "x"})  # numbers come from the engine as floats
    assert res.id == "12" and res.outs["role_id"] == 12
    assert res.outs["pending"] == [] and res.outs["drift"] == []
    assert res.outs["live"] == {"Companies › Company Maintenance": {"inquire": "All"},
                                "Service Desk › Service Tickets": {"add": "All", "edit": "All", "inquire": "All"}}
    assert res.outs["customize_status"].startswith("nothing to verify")
    assert res.outs["tenant"] == {"site": "https://cw.test", "company_id": "acme"}
    # In sync: one page of settings (a deleted role answers 404); the role is read only to name it in a checklist.
    assert role.call_count == 0 and settings.call_count == 1
    assert settings.calls[0].request.url.params["pageSize"] == "1000"
    assert [c.request.method for c in cw.calls if "/apis/3.0/" in str(c.request.url)] == ["GET"]


def test_create_fails_with_exact_changes_and_writes_checklist(cw, tmp_path):
    live = {("Companies", "Company Maintenance"): {"inquire": "All", "delete": "All"},  # extra Delete
            ("System", "Member Maintenance"): {"inquire": "My"}}  # not in code at all
    mock_role(cw, live)
    with pytest.raises(RoleOutOfSync) as ei:
        P.create(inputs())
    msg = str(ei.value)
    expected = [
        "  - Companies › Company Maintenance › Delete: set None (now All)",
        "  - Service Desk › Service Tickets › Add: set All (now None)",
        "  - Service Desk › Service Tickets › Edit: set All (now None)",
        "  - Service Desk › Service Tickets › Inquire: set All (now None)",
        "  - System › Member Maintenance › Inquire: set None (now My)",
    ]
    assert "\n".join(expected) in msg
    assert "5 settings differ" in msg and "cannot write role permissions" in msg
    assert "System › Security Roles › Acme Integration" in msg
    path = tmp_path / ".cwroles" / "checklists" / "acme" / "Acme Integration.md"  # per tenant (no stack given)
    assert f"Checklist: {path}" in msg and ei.value.checklist == path
    assert "company 'acme' at https://cw.test" in msg
    text = path.read_text()
    assert "- [ ] Service Tickets: Add → **All** (now None), Edit → **All** (now None), Inquire → **All** (now None)" in text
    assert "## System" in text


def test_update_verifies_again_and_clears_the_old_checklist(cw, tmp_path):
    mock_role(cw, LIVE_OK)
    old = tmp_path / "lists" / "prod" / "acme" / "Acme Integration.md"
    old.parent.mkdir(parents=True)
    old.write_text("stale")
    res = P.update("12", {}, inputs(checklist_dir=str(tmp_path / "lists"), stack="prod"))
    assert res.outs["pending"] == [] and not old.exists()
    assert not (tmp_path / "lists").exists()  # the folders it leaves empty go too


def test_deleted_role_on_create_says_refresh(cw):
    cw.get(f"{BASE}/system/securityRoles/12/settings").mock(
        return_value=httpx.Response(404, json={"code": "NotFound", "message": "x"}))
    with pytest.raises(Exception, match="does not exist in ConnectWise.*pulumi refresh"):
        P.create(inputs())


# ---- drift -------------------------------------------------------------------------------------


def test_diff_shows_drift_from_the_last_read(cw):
    mock_role(cw, LIVE_OK)
    outs = P.create(inputs()).outs
    assert P.diff("12", outs, inputs()).changes is False
    drifted = {**outs, "live": {**outs["live"], "System › Member Maintenance": {"add": "All"}}}
    d = P.diff("12", drifted, inputs())
    assert d.changes is True and d.replaces == []
    assert P.diff("12", outs, inputs(grants=GRANTS[:1])).changes is True
    assert P.diff("12", outs, inputs(role_id=13)).replaces == ["role_id"]


def test_read_reports_pending_and_drift_and_deleted_role(cw):
    mock_role(cw, LIVE_OK)
    outs = P.create(inputs()).outs
    cw.routes.clear()
    mock_role(cw, {**LIVE_OK, ("System", "Member Maintenance"): {"add": "All"}})
    r = P.read("12", outs)
    assert r.id == "12"
    assert r.outs["drift"] == ["System › Member Maintenance › Add: now All (was None)"]
    assert r.outs["pending"] == ["System › Member Maintenance › Add: set None (now All)"]
    assert r.outs["live"]["System › Member Maintenance"] == {"add": "All"}
    assert P.diff("12", r.outs, inputs()).changes is True
    assert r.outs["tenant"] == outs["tenant"]
    cw.routes.clear()
    cw.get(f"{BASE}/system/securityRoles/12/settings").mock(
        return_value=httpx.Response(404, json={"code": "NotFound", "message": "gone"}))
    gone = P.read("12", outs)
    assert gone.id == "" and gone.outs == {}


def test_import_reads_grants_from_connectwise(cw):
    mock_role(cw, LIVE_OK)
    cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[]))  # no member holds it
    r = P.read("12", {})
    assert r.inputs["role_name"] == "Acme Integration"
    assert {(g["module"], g["function"]) for g in r.inputs["grants"]} == {
        ("Companies", "Company Maintenance"), ("Service Desk", "Service Tickets")}
    assert r.outs["pending"] == []


# ---- Customize ---------------------------------------------------------------------------------

CUSTOM = {"System › Table Setup": ["Service / Service Board", "Company / Company Type"]}
LIVE_TS = {**LIVE_OK, ("System", "Table Setup"): {"add": "All", "inquire": "All"}}
GRANTS_TS = GRANTS + [{"module": "System", "function": "Table Setup", "add": "All", "inquire": "All"}]


def mock_member(cw, role_id=12, token_status=200, items=()):
    cw.get(f"{BASE}/system/apiMembers").mock(return_value=httpx.Response(200, json=[
        {"id": 31, "identifier": "svc-acme", "securityRole": {"id": role_id, "name": "x"}, "inactiveFlag": False}]))
    cw.post(f"{BASE}/system/members/svc-acme/tokens").mock(return_value=httpx.Response(
        token_status, json={"publicKey": "tp", "privateKey": "ts"} if token_status == 200 else
        {"code": "Forbidden", "message": "not allowed", "errors": []}))
    return cw.get(f"{BASE}/system/mySecurity/customizeItems/").mock(return_value=httpx.Response(200, json=[
        {"id": i, "customizeIdentifier": cid, "itemIdentifier": it} for i, (cid, it) in enumerate(items)]))


def test_customize_verified_by_impersonation(cw):
    mock_role(cw, LIVE_TS)
    mock_member(cw, items=[("SystemTableSetup", "Service / Service Board"), ("SystemTableSetup", "Company / Company Type"),
                           ("SystemCustomMenuEntry", "Mobius")])
    res = P.create(inputs(grants=GRANTS_TS, customize=CUSTOM, member_identifier="svc-acme"))
    assert res.outs["customize_status"] == "verified as 'svc-acme': matches the code"


def test_missing_customize_item_fails_with_checklist(cw, tmp_path):
    mock_role(cw, LIVE_TS)
    mock_member(cw, items=[("SystemTableSetup", "Service / Service Board"), ("SystemTableSetup", "Time / Time Expense")])
    with pytest.raises(RoleOutOfSync) as ei:
        P.create(inputs(grants=GRANTS_TS, customize=CUSTOM, member_identifier="svc-acme"))
    msg = str(ei.value)
    assert "  - System › Table Setup › Customize: allow 'Company / Company Type' (missing)" in msg
    assert "disallow 'Time / Time Expense'" in msg
    text = ei.value.checklist.read_text()
    assert "## System › Table Setup › Customize" in text and "Company / Company Type" in text


@pytest.mark.parametrize("setup,words", [
    ("forbidden", "not verifiable: ConnectWise refused to impersonate 'svc-acme' (HTTP 403"),
    ("other_role", "not verifiable: API member 'svc-acme' has security role"),
    ("no_member", "not verifiable: no member_identifier"),
])
def test_unverifiable_customize_is_reported_not_failed(cw, setup, words):
    mock_role(cw, LIVE_TS)
    if setup == "forbidden":
        mock_member(cw, token_status=403)
    elif setup == "other_role":
        mock_member(cw, role_id=99)
    res = P.create(inputs(grants=GRANTS_TS, customize=CUSTOM,
                          member_identifier=None if setup == "no_member" else "svc-acme"))
    assert words in res.outs["customize_status"]


def test_unverifiable_customize_still_listed_in_checklist_when_grid_differs(cw):
    mock_role(cw, LIVE_OK)  # Table Setup levels missing
    with pytest.raises(RoleOutOfSync) as ei:
        P.create(inputs(grants=GRANTS_TS, customize=CUSTOM))
    assert "Customize lists: not verifiable" in str(ei.value)
    assert "move to “Allow access to these”: Service / Service Board" in Path(ei.value.checklist).read_text()
