"""A project's own manifests: found beside Pulumi.yaml or through stack config cwroles:manifest, named
apart from the built-in ones, and turned into a plan, a requirement for the pack and a checklist, with no
change to the installed package."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cwroles.grid import Level, desired_grid, diff_grids, render_checklist
from cwroles.manifest import Integrations, Manifest, json_schema, manifest_names
from cwroles.stacks import StackConfigError, plan_from_config
from cwroles.stacks.program import ConfigSource

ACME = textwrap.dedent("""\
    integration: acme-rmm
    title: Acme RMM
    vendor_page: docs/acme.txt
    role: {name: Acme RMM}
    api_member: {identifier: AcmeRMM, name: Acme RMM}
    features:
    - {name: ticket-sync, description: "Only if Acme opens tickets (page: *)"}
    grants:
    - {module: Companies, function: Company Maintenance, inquire: All, reason: Reads companies, source: acme › 1}
    - {module: Service Desk, function: Service Tickets, inquire: All, reason: Reads tickets, source: acme › 2}
    - {module: Service Desk, function: Service Tickets, add: All, edit: All, feature: ticket-sync,
       reason: Opens and updates tickets, source: acme › 2*}
    - {module: System, function: Table Setup, inquire: All, reason: Reads boards, source: acme › 3}
    customize:
    - {function: System › Table Setup, items: [Service / Service Board], reason: Boards, source: acme › 3}
    """)


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: acme\nruntime: python\n")
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return tmp_path


def test_a_manifest_in_integrations_is_found_and_planned(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME})
    found = Integrations.discover(root)
    assert found.names() == [*manifest_names(), "acme-rmm"]
    f = found.get("acme-rmm")
    assert f.display == "integrations/acme-rmm.yaml" and f.ok and not f.builtin
    plan = plan_from_config({"integration": "acme-rmm"}, root=root)
    assert plan.role_args == {"name": "Acme RMM"} and plan.member_args["identifier"] == "AcmeRMM"
    req = plan.permissions_args["requirement"]  # the pack's ceiling travels with the role
    assert req["manifest"] == "integrations/acme-rmm.yaml" and req["integration"] == "acme-rmm"
    assert {(r["module"], r["function"], r["feature"]) for r in req["grants"]} == {
        ("Companies", "Company Maintenance", None), ("Service Desk", "Service Tickets", None),
        ("Service Desk", "Service Tickets", "ticket-sync"), ("System", "Table Setup", None)}


def test_built_in_stacks_carry_no_requirement_input():
    """A built-in integration's ceiling is the installed manifest: existing stacks' inputs do not change."""
    assert "requirement" not in plan_from_config({"integration": "mobius"}).permissions_args


def test_a_feature_raises_a_base_grant_to_the_maximum_per_verb(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME})
    off = plan_from_config({"integration": "acme-rmm"}, root=root)
    on = plan_from_config({"integration": "acme-rmm", "features": ["ticket-sync"]}, root=root)
    tickets = lambda p: next(g for g in p.permissions_args["grants"] if g["function"] == "Service Tickets")
    assert (tickets(off)["add"], tickets(off)["edit"], tickets(off)["inquire"]) == ("None", "None", "All")
    assert (tickets(on)["add"], tickets(on)["edit"], tickets(on)["inquire"]) == ("All", "All", "All")
    assert len(on.permissions_args["grants"]) == 3  # merged into one grant, not a duplicate
    m = Integrations.discover(root).get("acme-rmm").manifest
    [merged] = [g for g in m.merged({"ticket-sync"}) if g.function == "Service Tickets"]
    assert merged.raised_by == {"add": "ticket-sync", "edit": "ticket-sync"}
    # the checklist shows the merged result
    from cwroles.grid import Grant

    grid = desired_grid([Grant(**{k: v for k, v in g.items() if k in Grant.model_fields})
                         for g in on.permissions_args["grants"]])
    text = render_checklist("Acme RMM", diff_grids(grid, {}))
    assert "- [ ] Service Tickets: Add → **All** (now missing), Edit → **All** (now missing), Inquire → **All**" in text


def test_feature_raise_keeps_a_base_waiver_only_for_the_base_levels(tmp_path):
    text = ACME.replace("reason: Reads tickets, source: acme › 2}",
                        "reason: Reads tickets, source: acme › 2,\n   waiver: {justification: j, approved_by: vendor:Acme, expires: 2027-06-30}}")
    root = project(tmp_path, {"integrations/acme-rmm.yaml": text})
    on = plan_from_config({"integration": "acme-rmm", "features": ["ticket-sync"]}, root=root)
    tickets = next(g for g in on.permissions_args["grants"] if g["function"] == "Service Tickets")
    assert "waiver" not in tickets
    assert [(w["function"], w["level"]) for w in on.permissions_args["waivers"]] == [("Service Tickets", "inquire")]
    off = plan_from_config({"integration": "acme-rmm"}, root=root)
    assert next(g for g in off.permissions_args["grants"] if g["function"] == "Service Tickets")["waiver"]["expires"] == "2027-06-30"


def test_stack_config_manifest_path_names_any_file(tmp_path):
    root = project(tmp_path, {"vendors/acme.yaml": ACME})
    plan = plan_from_config({"manifest": "vendors/acme.yaml"}, root=root)
    assert plan.integration == "acme-rmm" and plan.permissions_args["requirement"]["manifest"] == "vendors/acme.yaml"
    with pytest.raises(StackConfigError, match=r"cwroles:integration: is 'mobius' but cwroles:manifest vendors/acme.yaml "
                                               r"declares integration 'acme-rmm'"):
        plan_from_config({"manifest": "vendors/acme.yaml", "integration": "mobius"}, root=root)
    with pytest.raises(StackConfigError, match=r"vendors/nope.yaml: cannot read the file \(No such file or directory\); "
                                               r"check the path"):
        plan_from_config({"manifest": "vendors/nope.yaml"}, root=root)
    # stack files name their manifests: `cwroles manifest list` finds them too
    (root / "Pulumi.acme.yaml").write_text("config:\n  cwroles:manifest: vendors/acme.yaml\n")
    assert "acme-rmm" in Integrations.discover(root).names()


def test_a_broken_manifest_stops_the_stack_naming_file_line_and_field(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME.replace("function: Table Setup", "function: Table Setpu")})
    with pytest.raises(StackConfigError) as e:
        plan_from_config({"integration": "acme-rmm"}, root=root, source=ConfigSource("Pulumi.acme.yaml"))
    msg = str(e.value)
    assert "the manifest integrations/acme-rmm.yaml has 1 problem(s)" in msg
    assert "integrations/acme-rmm.yaml:13 grants[3]: unknown function System › 'Table Setpu'; closest catalog " \
           "entries: 'Table Setup'" in msg


def test_names_collide_clearly(tmp_path):
    root = project(tmp_path, {
        "integrations/mobius.yaml": ACME.replace("integration: acme-rmm", "integration: mobius"),
        "integrations/acme-rmm.yaml": ACME,
        "integrations/acme-copy.yaml": ACME,
        "vendors/acme2.yaml": ACME,
    })
    found = Integrations.discover(root, ["vendors/acme2.yaml"])
    errors = {f.display: [str(p) for p in f.errors] for f in found.user_files()}
    assert errors["integrations/mobius.yaml"] == [
        "integrations/mobius.yaml:1 integration: integration 'mobius' is the name of a built-in integration; choose "
        "another name, e.g. 'mobius-custom'; built-in names: managed-backup, mobius, msp-process"]
    assert "the file is named acme-copy.yaml but declares integration 'acme-rmm'" in " ".join(errors["integrations/acme-copy.yaml"])
    assert any("integration 'acme-rmm' is also declared by" in m for m in errors["vendors/acme2.yaml"])
    assert found.get("mobius").builtin  # the built-in one is never replaced
    assert found.names().count("acme-rmm") == 1


def test_one_bad_file_does_not_hide_the_others(tmp_path):
    root = project(tmp_path, {"integrations/acme-rmm.yaml": ACME, "integrations/broken.yaml": "title: [\n"})
    found = Integrations.discover(root)
    assert "acme-rmm" in found.names()
    [broken] = [f for f in found.user_files() if not f.ok]
    assert broken.display == "integrations/broken.yaml" and "not valid YAML" in str(broken.errors[0])


def test_json_schema_is_generated_from_the_model():
    schema = json_schema()
    assert schema == {**Manifest.model_json_schema(), "$schema": schema["$schema"], "title": schema["title"]}
    assert set(schema["properties"]) == set(Manifest.model_fields)
    assert set(schema["required"]) == {"integration", "title", "vendor_page", "role", "api_member", "grants"}
    grant = schema["$defs"]["ManifestGrant"]
    assert {"reason", "source", "feature", "add", "edit", "delete", "inquire", "waiver"} <= set(grant["properties"])
    assert schema["$defs"]["Level"]["enum"] == [lv.value for lv in Level]
