"""The pack as the Pulumi CLI loads it: `python -u -m pulumi.policy <engine> .` in policies/ (pulumi.md 4.5)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as pb
from pulumi.runtime.proto import analyzer_pb2_grpc

from .policy_helpers import ROLE_PERMISSIONS, SECURITY_ROLE, UNKNOWN_STRING, grant, role, urn

PACK = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def analyzer():
    env = {**os.environ, "CWROLES_POLICY_TODAY": "2026-06-15"}
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."], cwd=PACK,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        line = proc.stdout.readline().decode().strip()
        assert line.isdigit(), f"pack did not start: {line!r} {proc.stderr.read1(4000).decode()}"
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait(10)


def struct(d):
    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(d)))
    return s


def analyze(stub, rtype, props, name="r"):
    resp = stub.Analyze(pb.AnalyzeRequest(type=rtype, properties=struct(props), urn=urn(rtype, name), name=name),
                        timeout=30)
    return [(d.policyName, pb.EnforcementLevel.Name(d.enforcementLevel), d.message) for d in resp.diagnostics]


def test_analyzer_info_lists_policies_levels_and_schemas(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "cwroles"
    levels = {p.name: pb.EnforcementLevel.Name(p.enforcementLevel) for p in info.policies}
    assert levels == {"cwroles-least-privilege": "MANDATORY", "cwroles-privileged-functions": "MANDATORY",
                      "cwroles-table-setup-allowlist": "MANDATORY", "cwroles-admin-role": "MANDATORY",
                      "cwroles-api-member-role": "MANDATORY", "cwroles-waived-grants": "ADVISORY",
                      "cwroles-broad-writes": "ADVISORY", "cwroles-vendor-requirement": "ADVISORY",
                      "cwroles-pack-errors": "MANDATORY"}
    schemas = {p.name: set(p.configSchema.properties.keys()) for p in info.policies}
    assert schemas["cwroles-privileged-functions"] == {"today", "extraPrivilegedFunctions"}
    assert schemas["cwroles-admin-role"] == {"adminNamePattern"}


def test_over_grant_in_preview_is_mandatory_and_waived_is_advisory(analyzer):
    props = role("mobius", [grant("Finance › Invoicing", "EDI"),
                            {**grant("Finance › Accounting Interface", "AEDI"),
                             "waiver": {"justification": "GL sync", "approved_by": "CFO", "expires": "2026-12-31"}},
                            grant("Sales › Opportunity", "I")],
                 customize={"System › Table Setup": ["Products / UOM"]})
    assert props["role_id"] == UNKNOWN_STRING  # unknown in preview: the pack must not need it
    diags = analyze(analyzer, ROLE_PERMISSIONS, props)
    by = {}
    for name, level, msg in diags:
        by.setdefault(name, []).append((level, msg))
    assert [lv for lv, _ in by["cwroles-privileged-functions"]] == ["MANDATORY"]
    assert "Finance › Invoicing › Delete = All is privileged" in by["cwroles-privileged-functions"][0][1]
    assert "Sales › Opportunity › Inquire = All" in by["cwroles-least-privilege"][0][1]
    assert by["cwroles-waived-grants"] == [(
        "ADVISORY",
        "Grants above policy that a valid waiver accepts (listed for the reviewer).\nWAIVED Finance › Accounting "
        "Interface › Delete = All (privileged: Delete removes records for good (any function)): “GL sync” "
        "(approved by CFO, expires 2026-12-31; grant waiver).")]


def test_unknown_grants_become_an_advisory_cant_run_diagnostic(analyzer):
    props = role("mobius", [])
    props["grants"] = UNKNOWN_STRING
    diags = analyze(analyzer, ROLE_PERMISSIONS, props)
    lp = [d for d in diags if d[0] == "cwroles-least-privilege"]
    assert lp and lp[0][1] == "ADVISORY" and "can't run policy" in lp[0][2]


def test_configure_overrides_level_and_properties(analyzer):
    sr = {"name": "Admin", "role_type": "Custom", "admin_flag": False}
    assert analyze(analyzer, SECURITY_ROLE, sr)[0][:2] == ("cwroles-admin-role", "MANDATORY")
    cfg = {"cwroles-admin-role": pb.PolicyConfig(enforcementLevel=pb.ADVISORY),
           "cwroles-privileged-functions": pb.PolicyConfig(enforcementLevel=pb.MANDATORY,
                                                           properties=struct({"extraPrivilegedFunctions":
                                                                              ["Companies › Contacts"]}))}
    analyzer.Configure(pb.ConfigureAnalyzerRequest(policyConfig=cfg), timeout=30)
    try:
        assert analyze(analyzer, SECURITY_ROLE, sr)[0][:2] == ("cwroles-admin-role", "ADVISORY")
        diags = analyze(analyzer, ROLE_PERMISSIONS, role("managed-backup", [grant("Companies › Contacts", "I")]))
        assert [(n, lv) for n, lv, _ in diags] == [("cwroles-privileged-functions", "MANDATORY")]
    finally:
        analyzer.Configure(pb.ConfigureAnalyzerRequest(policyConfig={}), timeout=30)


def test_stack_analysis_flags_member_of_foreign_role(analyzer):
    ref_urn = urn("pulumi:pulumi:StackReference", "shared")
    mem_urn = urn("pulumi-python:dynamic/connectwise:ApiMember", "m")
    resources = [
        pb.AnalyzerResource(type="pulumi:pulumi:StackReference", urn=ref_urn, name="shared", properties=struct({})),
        pb.AnalyzerResource(type="pulumi-python:dynamic/connectwise:ApiMember", urn=mem_urn, name="m",
                            properties=struct({"identifier": "Mobius", "role_id": 7}), dependencies=[ref_urn],
                            propertyDependencies={"role_id": pb.AnalyzerPropertyDependencies(urns=[ref_urn])}),
    ]
    resp = analyzer.AnalyzeStack(pb.AnalyzeStackRequest(resources=resources), timeout=30)
    assert [(d.policyName, d.urn) for d in resp.diagnostics] == [("cwroles-api-member-role", mem_urn)]
    assert "StackReference “shared”" in resp.diagnostics[0].message


def test_the_reviewer_makes_broad_writes_mandatory_in_the_pack_config(analyzer):
    """Tiers are tunable: advisory by default, mandatory when the pack config says so."""
    props = role("msp-process", [grant("Companies › Contacts", "AEI"), grant("Companies › Notes", "AEI"),
                                 grant("Companies › Manage Attachments", "AI")])
    broad = lambda: [(n, lv) for n, lv, _ in analyze(analyzer, ROLE_PERMISSIONS, props)
                     if n == "cwroles-broad-writes"]
    assert broad() == [("cwroles-broad-writes", "ADVISORY")]
    cfg = {"cwroles-broad-writes": pb.PolicyConfig(enforcementLevel=pb.MANDATORY,
                                                   properties=struct({"minFunctions": 3}))}
    analyzer.Configure(pb.ConfigureAnalyzerRequest(policyConfig=cfg), timeout=30)
    try:
        assert broad() == [("cwroles-broad-writes", "MANDATORY")]
    finally:
        analyzer.Configure(pb.ConfigureAnalyzerRequest(policyConfig={}), timeout=30)


def test_an_error_in_an_advisory_policy_fails_the_resource_as_mandatory(analyzer):
    """Fail closed over the wire: a bad extraPrivilegedFunctions entry on the advisory cwroles-waived-grants (and
    the same error in cwroles-least-privilege set advisory by config) still yields a MANDATORY diagnostic."""
    cfg = {"cwroles-least-privilege": pb.PolicyConfig(enforcementLevel=pb.ADVISORY,
                                                      properties=struct({"today": "someday"})),
           "cwroles-waived-grants": pb.PolicyConfig(enforcementLevel=pb.ADVISORY,
                                                    properties=struct({"extraPrivilegedFunctions": ["Nope › Nothing"]}))}
    analyzer.Configure(pb.ConfigureAnalyzerRequest(policyConfig=cfg), timeout=30)
    try:
        diags = analyze(analyzer, ROLE_PERMISSIONS, role("managed-backup", []))
    finally:
        analyzer.Configure(pb.ConfigureAnalyzerRequest(policyConfig={}), timeout=30)
    levels = {(n, lv) for n, lv, _ in diags}
    assert levels == {("cwroles-least-privilege", "ADVISORY"), ("cwroles-waived-grants", "ADVISORY"),
                      ("cwroles-pack-errors", "MANDATORY")}
    [message] = [m for n, _, m in diags if n == "cwroles-pack-errors"]
    assert "cwroles-least-privilege (configuration problem: policy config 'today' is 'someday'" in message
    assert "cwroles-waived-grants (configuration problem: policy config extraPrivilegedFunctions:" in message
    assert "Traceback" not in message
    # the next resource starts clean: an error is reported once, for the resource it happened on
    assert analyze(analyzer, ROLE_PERMISSIONS, role("managed-backup", [])) == []
