"""`cwroles catalog diff`: both directions, catalog names only (no company data), pasteable output."""

from __future__ import annotations

import yaml

from cwroles.catalog import load_catalog
from cwroles.catalog_extras import CatalogExtras, extend
from cwroles.commands.catalog import compare
from cwroles.cwsim.testing import running_server
from cwroles.provider import SecurityRoleSetting, SetupScreen

from tests.commands.onboarding_helpers import EXTRAS, api_requests, cli, make_role, project


def test_the_tenants_own_entries_in_the_shape_of_a_manifests_tenant_catalog(tmp_path):
    with running_server(company_id="northwind", catalog_extras=EXTRAS) as sim:
        _tenant_entries(sim, tmp_path)


def _tenant_entries(sim, tmp_path):
    make_role(sim, "Secret Customer Role", {"module": "Companies", "function": "Contacts", "inquire": "All"},
              member="secretbot")
    out = tmp_path / "diff.yaml"
    sim.reset_metrics()
    r = cli(sim, "catalog", "diff", "--dir", project(tmp_path), "--output", out)
    assert r.exit_code == 2, r.output
    assert api_requests(sim) == 3
    for private in (sim.company_id, sim.url, "Secret Customer Role", "secretbot", "Admin", "cwadmin"):
        assert private not in out.read_text() and private not in r.stdout.replace("cwroles catalog diff", "")
    doc = yaml.safe_load(out.read_text())
    assert doc["schema"] == "cwroles-catalog-diff" and doc["tenant_modules"] == ["Knowledge Base"]
    extras = CatalogExtras.model_validate(doc["only_in_tenant"])  # pasteable as a manifest's tenant_catalog
    assert [(f.module, f.function) for f in extras.functions] == [("Service Desk", "Ticket Dispatch Rules"),
                                                                  ("Knowledge Base", "KB Articles")]
    assert [t.name for t in extras.setup_tables] == ["Service / Dispatch Queue"]
    assert doc["only_in_catalog"] == {"modules": [], "functions": [], "setup_tables": []}
    assert "Service Desk › Ticket Dispatch Rules" in r.stdout


def test_no_difference_exits_0(tmp_path):
    with running_server() as plain:
        r = cli(plain, "catalog", "diff", "--dir", project(tmp_path))
    assert r.exit_code == 0, r.output
    assert "No difference." in r.output


def _row(module: str, function: str, order: int, custom: bool = False) -> SecurityRoleSetting:
    return SecurityRoleSetting(module_name=module, module_function_name=function, sort_order=order, custom_flag=custom)


def test_both_directions_and_customize_links():
    catalog = load_catalog()
    rows = [_row(m.name, f.name, i, custom=f.customize is not None) for i, (m, f) in enumerate(catalog.functions())]
    dropped = rows.pop(3)  # the tenant lacks a function the catalog has …
    rows = [r for r in rows if r.module_name != "Marketing"]  # … and a whole module
    rows.append(_row("Service Desk", "Ticket Dispatch Rules", 999))  # and has one of its own
    rows[0] = rows[0].model_copy(update={"custom_flag": True})  # with a Customize link the catalog does not know
    screens = [SetupScreen(category=t.category, name=t.table) for t in catalog.setup_tables[1:]]
    screens.append(SetupScreen(category="Service", name="Dispatch Queue"))
    d = compare(rows, screens, catalog)
    assert (dropped.module_name, dropped.module_function_name) in d.only_in_catalog_functions
    assert d.only_in_catalog_modules == ["Marketing"]
    assert not [f for f in d.only_in_catalog_functions if f[0] == "Marketing"]  # said once, as the module
    assert d.only_in_catalog_tables == [catalog.setup_tables[0].name]
    assert [(f.module, f.function) for f in d.only_in_tenant.functions] == [("Service Desk", "Ticket Dispatch Rules")]
    assert [t.name for t in d.only_in_tenant.setup_tables] == ["Service / Dispatch Queue"]
    assert d.customize_differs == [(rows[0].module_name, rows[0].module_function_name, True)]
    # what the tenant has extends the catalog: the diff against the extended catalog has nothing "only in tenant"
    again = compare(rows, screens, extend(d.only_in_tenant, catalog))
    assert again.only_in_tenant.is_empty()
