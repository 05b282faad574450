"""python -m cwroles.policies.report: preview output -> PR comment (Markdown) and SARIF 2.1.0."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cwroles.policies import report

FIX = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def load(name):
    return report.parse((FIX / name).read_text(encoding="utf-8"))


def test_event_log_is_parsed_into_levels_and_waivers():
    r = load("preview-events.jsonl")
    assert r.policy_data and r.event_stream
    assert [(v.policy, v.level) for v in r.violations] == [
        ("cwroles-privileged-functions", "mandatory"), ("cwroles-least-privilege", "mandatory"),
        ("cwroles-waived-grants", "waived"), ("cwroles-admin-role", "advisory"),
        ("cwroles-api-member-role", "mandatory")]
    v = r.violations[1]
    assert v.description.startswith("An integration's role may not exceed")
    assert v.detail.startswith("Sales › Opportunity › Inquire = All") and "<{%" not in v.detail
    assert v.resource == "RolePermissions mobius-permissions"
    assert r.errors == ["error: preview failed due to 3 mandatory policy violations"]
    assert len(r.checked) == 2


def test_markdown_groups_by_resource_mandatory_first_and_lists_waivers_separately():
    md = report.markdown(load("preview-events.jsonl"))
    assert "**❌ 3 mandatory violations** block this pull request · 1 advisory · 1 waived" in md
    am, rp, sr = (md.index(f"#### `{x}`") for x in
                  ("ApiMember mobius-member", "RolePermissions mobius-permissions", "SecurityRole mobius-role"))
    assert am < rp < sr  # resources with mandatory violations before advisory-only ones
    assert "#### `SecurityRole mobius-role` — ⚠️ advisory only" in md
    section = md[rp:sr]
    assert section.index("`cwroles-least-privilege`") < section.index("`cwroles-privileged-functions`")
    assert "expired on 2026-01-31" in section
    waived = md[md.index("### Waived exceptions"):]
    assert "| `RolePermissions mobius-permissions` | Finance › Accounting Interface › Delete = All" in waived
    assert "“GL sync \\| nightly”" in waived  # table cells escape pipes
    assert "WAIVED" not in md and "cwroles-waived-grants" not in md[:md.index("### Waived exceptions")]


def test_clean_run_says_so():
    lines = [json.dumps({"sequence": 1, "policyAnalyzeSummaryEvent": {"resourceUrn": "urn:pulumi:s::p::t::n",
                                                                     "policyPackName": "cwroles",
                                                                     "passed": ["cwroles-least-privilege"]}})]
    md = report.markdown(report.parse("\n".join(lines)))
    assert "**✅ No mandatory violations** · 0 advisory · 0 waived" in md and "Violations" not in md


def test_digest_without_policy_events_is_not_reported_clean():
    r = load("preview-digest-3.259.json")
    assert not r.policy_data
    md = report.markdown(r)
    assert "--event-log" in md and "✅" not in md
    assert "- error: preview failed" in md


def test_event_stream_without_any_policy_event_says_no_pack_ran():
    r = report.parse(json.dumps({"sequence": 1, "summaryEvent": {"resourceChanges": {}}}))
    assert not r.policy_data and "No policy pack ran" in report.markdown(r)


def test_digest_diagnostics_with_policy_fields():
    r = load("preview-digest-with-policy-fields.json")
    assert [(v.policy, v.level) for v in r.violations] == [
        ("cwroles-least-privilege", "mandatory"), ("cwroles-waived-grants", "waived"),
        ("cwroles-admin-role", "advisory")]
    assert r.violations[0].detail == "Sales › Opportunity › Inquire = All: not listed."


def test_event_list_and_events_object_forms():
    lines = (FIX / "preview-events.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(x) for x in lines]
    a = report.parse(json.dumps(events))
    b = report.parse(json.dumps({"events": events}))
    assert len(a.violations) == len(b.violations) == 5


def test_sarif_basics():
    doc = report.sarif(load("preview-events.jsonl"))
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) == 5 and run["tool"]["driver"]["name"] == "cwroles-policies"
    assert all(r["shortDescription"]["text"] for r in rules)
    results = run["results"]
    assert len(results) == 5
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        loc = res["locations"][0]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "Pulumi.acme-mobius.yaml"
        assert loc["physicalLocation"]["region"]["startLine"] == 1
        assert loc["logicalLocations"][0]["fullyQualifiedName"].startswith("urn:pulumi:acme-mobius::")
        assert len(res["partialFingerprints"]["cwrolesViolation/v1"]) == 64
    levels = sorted(r["level"] for r in results)
    assert levels == ["error", "error", "error", "note", "warning"]
    waived = [r for r in results if r["level"] == "note"][0]
    assert waived["suppressions"][0]["kind"] == "external"
    assert waived["suppressions"][0]["justification"].startswith("Finance › Accounting Interface › Delete = All")


def test_cli_writes_files_and_exit_codes(tmp_path):
    md, sf = tmp_path / "out.md", tmp_path / "out.sarif"
    cmd = [sys.executable, "-m", "cwroles.policies.report", str(FIX / "preview-events.jsonl"), "--markdown", str(md),
           "--sarif", str(sf)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "policies.report: 3 mandatory, 1 advisory, 1 waived" in p.stderr
    assert md.read_text(encoding="utf-8").startswith("## cwroles policy report")
    assert json.loads(sf.read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert subprocess.run(cmd + ["--fail-on-mandatory"], cwd=ROOT, capture_output=True).returncode == 1
    p = subprocess.run([sys.executable, "-m", "cwroles.policies.report", str(FIX / "preview-digest-3.259.json"),
                        "--fail-on-mandatory"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 2 and "--event-log" in p.stderr


def test_cli_unreadable_input(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json\n", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "cwroles.policies.report", str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 2 and "line 1 is not JSON" in p.stderr and "Traceback" not in p.stderr


def test_event_log_captured_from_the_real_cli():
    """Captured with CLI 3.259: `CWROLES_POLICY_TODAY=2028-01-01 PULUMI_DEBUG_COMMANDS=true pulumi preview -s mobius
    --policy-pack policies --event-log …` (Mobius' vendor waivers expire 2027-11-22); policy/summary/error events kept."""
    r = load("cli-3.259-mobius-expired-waivers.jsonl")
    assert r.policy_data and len(r.by_level("mandatory")) == 6 and not r.by_level("waived")
    assert {v.policy for v in r.violations} == {"cwroles-privileged-functions"}
    assert all("expired on 2027-11-22 (today is 2028-01-01)" in v.detail for v in r.violations)
    assert r.errors == ["error: preview failed"]
    md = report.markdown(r)
    assert "**❌ 6 mandatory violations**" in md and "#### `RolePermissions mobius-permissions` — ❌ 6 mandatory" in md


# ---- fail closed: an error inside the pack, or a preview that stopped early, is never reported clean -----------
def _events(*events):
    return "\n".join(json.dumps({"sequence": i, **e}) for i, e in enumerate(events))


LOADED = {"policyLoadEvent": {}}
RP_URN = "urn:pulumi:pr::cwroles::pulumi-python:dynamic/connectwise:RolePermissions::mobius-permissions"


def test_engine_failure_to_run_the_pack_is_a_mandatory_violation():
    """Captured with CLI 3.259 (tests/engine/test_policies_fail_closed_engine.py, before the pack's guards): the
    pack raised on a misspelled function in its baseline; the engine printed "failed to run policy" and stopped."""
    r = load("cli-3.259-pack-failed-to-run.jsonl")
    assert r.policy_data
    [v] = r.by_level("mandatory")
    assert (v.policy, v.urn, v.description) == ("cwroles-pack-errors", RP_URN, report.PACK_FAILURE_DESCRIPTION)
    assert v.detail.startswith("policy-pack error: the pack failed on this resource, so it is not verified (failed "
                               "to run policy: policies/baselines/mobius.yaml is invalid: unknown function Finance › "
                               "'Invoicing Typo'")
    assert "Exception calling application" not in v.detail
    assert r.errors == []  # counted as a violation, not as an "other error"
    md = report.markdown(r)
    assert "**❌ 1 mandatory violation** blocks this pull request" in md and "✅" not in md
    assert "#### `RolePermissions mobius-permissions` — ❌ 1 mandatory" in md
    [res] = report.sarif(r)["runs"][0]["results"]
    assert (res["ruleId"], res["level"]) == ("cwroles-pack-errors", "error")


@pytest.mark.parametrize("message", [
    "failed to run policy: Exception calling application: boom",
    "failed to get analyzer info: rpc error: code = Unavailable",
    "failed to analyze resources: rpc error",
    "policy pack \"cwroles\" failed to start: exit status 1",
    "Exception calling application: 'NoneType' object is not subscriptable",
])
def test_every_engine_message_for_a_failed_pack_counts_as_mandatory(message):
    r = report.parse(_events(LOADED, {"diagnosticEvent": {"urn": RP_URN, "prefix": "error: ", "message": message + "\n",
                                                          "severity": "error"}}))
    assert [(v.policy, v.level) for v in r.violations] == [("cwroles-pack-errors", "mandatory")]


@pytest.mark.parametrize("policy, level", [("cwroles-waived-grants", "advisory"), ("cwroles-least-privilege", "advisory"),
                                           ("cwroles-privileged-functions", "mandatory")])
@pytest.mark.parametrize("detail", [
    "policy-pack error: cwroles-x could not check this resource (KeyError: 'grants'), so it is not verified.",
    "policy-pack configuration problem: policy config 'today' is 'someday', not a date. See docs/policies.md.",
])
def test_a_policy_error_is_mandatory_whatever_the_policys_level(policy, level, detail):
    event = {"policyEvent": {"resourceUrn": RP_URN, "message": f"Some description.\n{detail}", "policyName": policy,
                             "policyPackName": "cwroles", "enforcementLevel": level, "severity": "low"}}
    r = report.parse(_events(LOADED, event))
    assert [v.level for v in r.violations] == ["mandatory"]
    assert "Waived exceptions" not in report.markdown(r)


def test_a_preview_that_failed_without_violations_is_not_clean():
    """The engine stops analysing at the first error: the resources after it were never checked."""
    summary = {"resourceUrn": "urn:pulumi:s::p::t::n", "policyPackName": "cwroles", "passed": ["cwroles-admin-role"]}
    r = report.parse(_events(LOADED, {"policyAnalyzeSummaryEvent": summary},
                             {"diagnosticEvent": {"prefix": "error: ", "message": "connectwise: 401 Unauthorized\n",
                                                  "severity": "error"}},
                             {"summaryEvent": {"result": "failed", "PolicyPacks": {"cwroles": "0.1.0"}}}))
    assert r.incomplete and not r.violations and r.errors == ["error: connectwise: 401 Unauthorized"]
    md = report.markdown(r)
    assert "**❌ The preview failed**, so the policy check is incomplete" in md and "✅" not in md
    # without any error diagnostic, a failed result alone still counts
    r = report.parse(_events(LOADED, {"summaryEvent": {"result": "failed"}}))
    assert r.incomplete and "❌ The preview failed" in report.markdown(r)


def test_cli_exit_codes_fail_closed(tmp_path):
    def exit_code(text, *flags):
        f = tmp_path / "in.jsonl"
        f.write_text(text, encoding="utf-8")
        p = subprocess.run([sys.executable, "-m", "cwroles.policies.report", str(f), *flags], cwd=ROOT,
                           capture_output=True, text=True)
        assert "Traceback" not in p.stderr
        return p.returncode

    pack_failed = (FIX / "cli-3.259-pack-failed-to-run.jsonl").read_text(encoding="utf-8")
    assert exit_code(pack_failed, "--fail-on-mandatory") == 1
    assert exit_code(pack_failed) == 0  # without the flag the report only reports
    failed = _events(LOADED, {"summaryEvent": {"result": "failed"}})
    assert exit_code(failed, "--fail-on-mandatory") == 1
    clean = _events(LOADED, {"summaryEvent": {"result": "succeeded"}})
    assert exit_code(clean, "--fail-on-mandatory") == 0


def test_report_and_pack_agree_on_the_pack_errors_policy_name():
    from cwroles.policies.rules import PACK_ERRORS
    assert report.PACK_ERRORS_POLICY == PACK_ERRORS
