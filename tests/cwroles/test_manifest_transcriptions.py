"""Each manifest equals the independent hand transcription of its vendor page (tests/vendor_pages.py).

Levels are written compactly: "AEI" = Add, Edit and Inquire at All; every other level None.
Keys are "Module › Function" as the vendor page writes them; both sides are resolved through the catalog.
"""

import datetime as dt

import pytest

from cwroles.catalog import LEVEL_NAMES, load_catalog
from cwroles.grid import Level
from cwroles.manifest import Manifest, load_manifest, manifest_names
from tests import vendor_pages as pages

def _rows(integration, feature=None):
    """{where: letters} of the rows with no condition (feature None) or exactly ``feature``'s rows."""
    return {w: lv for w, lv, feat in pages.VENDORS[integration][1] if feat == feature}


MSP_PROCESS_BASE = _rows("msp-process")
MSP_PROCESS_FEATURES = {f: _rows("msp-process", f) for f in pages.FEATURES["msp-process"]}
MSP_PROCESS_TABLES = pages.MSP_PROCESS_TABLES
MOBIUS_BASE = _rows("mobius")
MOBIUS_TABLES = pages.MOBIUS_TABLES
MOBIUS_DELETE_WAIVED = set(pages.MOBIUS_DELETE_WAIVED)
MANAGED_BACKUP_BASE = _rows("managed-backup")

LETTER = {"add": "A", "edit": "E", "delete": "D", "inquire": "I"}


def _expected(rows: dict[str, str]) -> dict[tuple[str, str], dict[str, Level]]:
    cat = load_catalog()
    out = {}
    for where, letters in rows.items():
        module, function = where.split(" › ")
        m, f = cat.function(module, function)
        out[(m.name, f.name)] = {n: Level.ALL if LETTER[n] in letters else Level.NONE for n in LEVEL_NAMES}
    return out


def _actual(manifest: Manifest, features: set[str]) -> dict[tuple[str, str], dict[str, Level]]:
    cat = load_catalog()
    out = {}
    for g in manifest.grants_for(features):
        m, f = cat.function(g.module, g.function)
        assert (m.name, f.name) not in out, f"duplicate grant {g.where}"
        out[(m.name, f.name)] = g.levels()
    return out


def _canon_tables(tables):
    cat = load_catalog()
    return [cat.setup_table(t).name for t in tables]


def test_all_three_manifests_exist_and_validate():
    assert manifest_names() == ["managed-backup", "mobius", "msp-process"]
    for name in manifest_names():
        m = load_manifest(name)
        assert m.integration == name
        m.validate_against()
        for g in m.grants:
            assert g.reason.strip() and g.source.strip(), g.where


@pytest.mark.parametrize(
    "name,role,identifier",
    [("msp-process", "MSP Process", "MSPProcess"), ("mobius", "Mobius", "Mobius"), ("managed-backup", "API", "MSP360Backup")],
)
def test_role_and_api_member_defaults(name, role, identifier):
    m = load_manifest(name)
    assert m.role.name == role
    assert m.api_member.identifier == identifier
    assert len(m.api_member.identifier) <= 15


def test_msp_process_default_grants_are_least_privilege():
    m = load_manifest("msp-process")
    assert m.default_features() == set()
    assert _actual(m, set()) == _expected(MSP_PROCESS_BASE)


@pytest.mark.parametrize("feature", sorted(MSP_PROCESS_FEATURES))
def test_msp_process_each_feature_adds_exactly_its_rows(feature):
    m = load_manifest("msp-process")
    base, with_feature = _actual(m, set()), _actual(m, {feature})
    added = {k: v for k, v in with_feature.items() if k not in base}
    assert added == _expected(MSP_PROCESS_FEATURES[feature])
    assert {k: with_feature[k] for k in base} == base  # nothing else changes


def test_msp_process_all_features():
    m = load_manifest("msp-process")
    every = dict(MSP_PROCESS_BASE)
    for rows in MSP_PROCESS_FEATURES.values():
        every.update(rows)
    assert _actual(m, set(MSP_PROCESS_FEATURES)) == _expected(every)
    assert {f.name for f in m.features} == set(MSP_PROCESS_FEATURES)


def test_msp_process_table_setup_allow_list():
    m = load_manifest("msp-process")
    for features in (set(), set(MSP_PROCESS_FEATURES)):
        lists = m.customize_for(features)
        assert list(lists) == ["System › Table Setup"]
        assert _canon_tables(lists["System › Table Setup"]) == _canon_tables(MSP_PROCESS_TABLES)


def test_mobius_grants_and_waivers():
    m = load_manifest("mobius")
    assert m.default_features() == set()
    assert _actual(m, set()) == _expected(MOBIUS_BASE)
    # the feature adds no grant: the Custom Menu Entry grant is unconditional (Step 6)
    assert _actual(m, {"custom-menu-entry"}) == _expected(MOBIUS_BASE)
    waived = {g.where for g in m.grants if g.waiver is not None}
    cat = load_catalog()
    canon = lambda w: cat.function(*w.split(" › "))[1].name
    assert {canon(w) for w in waived} == {canon(w) for w in MOBIUS_DELETE_WAIVED}
    for g in m.grants:
        if g.waiver:
            assert g.waiver.approved_by == "vendor:Mobius"
            assert dt.date(2027, 9, 1) <= g.waiver.expires <= dt.date(2028, 1, 31)
            assert "Delete - All" in g.waiver.justification
            assert g.delete is Level.ALL
        else:
            assert g.delete is Level.NONE


def test_mobius_customize_lists_and_feature():
    m = load_manifest("mobius")
    off = m.customize_for(set())
    assert list(off) == ["System › Table Setup"]
    assert _canon_tables(off["System › Table Setup"]) == _canon_tables(MOBIUS_TABLES)
    on = m.customize_for({"custom-menu-entry"})
    assert on["System › Custom Menu Entry"] == ["Mobius"]
    assert on["System › Table Setup"] == off["System › Table Setup"]


def test_mobius_purchase_orders_recorded_once_with_a_note():
    m = load_manifest("mobius")
    cat = load_catalog()
    rows = [g for g in m.grants if cat.function(g.module, g.function)[1].name == "Purchase Orders"]
    assert len(rows) == 1
    assert "Aiso" in m.notes and "Aiso" in rows[0].source


def test_managed_backup_grants():
    m = load_manifest("managed-backup")
    assert m.features == []
    assert _actual(m, set()) == _expected(MANAGED_BACKUP_BASE)
    assert m.customize_for(set()) == {"System › Table Setup": ["Service / Service Board"]}


@pytest.mark.parametrize("name", ["msp-process", "mobius", "managed-backup"])
def test_unknown_feature_is_a_clear_error(name):
    m = load_manifest(name)
    with pytest.raises(ValueError, match=r"unknown feature\(s\) \['no-such-thing'\]; this integration has"):
        m.grants_for({"no-such-thing"})


def test_unknown_integration_lists_the_choices():
    with pytest.raises(ValueError, match="unknown integration 'kaseya'; choose one of: managed-backup, mobius, msp-process"):
        load_manifest("kaseya")
