"""cwroles/catalog.py: normalisation, lookups, helpful errors."""

import pytest

from cwroles.catalog import CatalogError, load_catalog, normalize


def test_normalize_folds_vendor_spelling_differences():
    assert normalize("  Service Ticket – Dependencies ") == "service ticket - dependencies"
    assert normalize("Service Ticket- Dependencies") == "service ticket - dependencies"
    assert normalize("CRM / Sales Activities") == normalize("CRM/Sales Activities")
    assert normalize("Company module") == "company"
    assert normalize("Time and Expense") == normalize("Time & Expense")


def test_catalog_loads_and_is_cached():
    assert load_catalog() is load_catalog()


def test_functions_follow_role_editor_order():
    cat = load_catalog()
    pairs = [(m.name, f.name) for m, f in cat.functions()]
    assert pairs[0] == ("Companies", "Company Maintenance")
    assert len(pairs) == sum(len(m.functions) for m in cat.modules)
    modules = [m for m, _ in pairs]
    assert modules.index("Companies") < modules.index("Service Desk") < modules.index("System")


def test_identifiers_are_unique_within_each_module():
    cat = load_catalog()
    assert len({m.identifier for m in cat.modules}) == len(cat.modules)
    for m in cat.modules:
        assert len({f.identifier for f in m.functions}) == len(m.functions), m.name


def test_every_source_reference_is_declared():
    cat = load_catalog()
    ids = {s.id for s in cat.sources}
    for m, f in cat.functions():
        assert set(f.sources) <= ids, f"{m.name} › {f.name}"
    for t in cat.setup_tables:
        assert set(t.sources) <= ids, t.name


@pytest.mark.parametrize(
    "module,function,expected",
    [
        ("Company Module", "Contacts", ("Companies", "Contacts")),
        ("companies", "company maintenance", ("Companies", "Company Maintenance")),
        ("Service Desk", "Service Ticket - Dependancies", ("Service Desk", "Service Ticket - Dependencies")),
        ("Procurement", "Purchase Orders (Aiso)", ("Procurement", "Purchase Orders")),
        ("Time and Expense", "Time Entry", ("Time & Expense", "Time Entry")),
    ],
)
def test_function_lookup_through_aliases(module, function, expected):
    m, f = load_catalog().function(module, function)
    assert (m.name, f.name) == expected


def test_unknown_module_names_closest():
    with pytest.raises(CatalogError, match=r"unknown module 'Servce Desk'; closest catalog entries: 'Service Desk'"):
        load_catalog().module("Servce Desk")


def test_unknown_function_names_closest_in_module():
    with pytest.raises(CatalogError, match=r"unknown function Companies › 'Contactz'.*closest catalog entries: 'Contacts'"):
        load_catalog().function("Companies", "Contactz")


def test_function_in_wrong_module_says_where_it_is():
    with pytest.raises(CatalogError, match=r"it exists as System › Table Setup"):
        load_catalog().function("Companies", "Table Setup")


def test_setup_table_lookup_and_alias():
    cat = load_catalog()
    assert cat.setup_table("Contacts / Department").name == "Contacts / Departments"
    assert cat.setup_table("invoicing / tax code").name == "Invoicing / Tax Code"
    with pytest.raises(CatalogError, match="unknown Table Setup table 'Service / Service Bored'.*'Service / Service Board'"):
        cat.setup_table("Service / Service Bored")


def test_customize_item_by_function_kind():
    cat = load_catalog()
    _, table_setup = cat.function("System", "Table Setup")
    _, menu = cat.function("System", "Custom Menu Entry")
    _, notes = cat.function("Companies", "Notes")
    assert cat.customize_item(table_setup, "Service/Service Board") == "Service / Service Board"
    assert cat.customize_item(menu, "mobius") == "Mobius"
    with pytest.raises(CatalogError, match="unknown Custom Menu Entry 'Nope'"):
        cat.customize_item(menu, "Nope")
    with pytest.raises(CatalogError, match="Notes has no Customize list"):
        cat.customize_item(notes, "anything")


def test_a_copy_with_more_functions_finds_them():
    """A tenant's catalog is the bundled one plus its own entries (model_copy): lookups must see them."""
    cat = load_catalog()
    cat.function("Procurement", "Products")  # builds the bundled catalog's indexes
    procurement = next(m for m in cat.modules if m.name == "Procurement")
    extra = procurement.functions[0].model_copy(update={"name": "Drop Shipments", "aliases": []})
    tenant = cat.model_copy(update={"modules": [procurement.model_copy(update={"functions": [*procurement.functions, extra]})
                                                if m is procurement else m for m in cat.modules]})
    assert tenant.function("Procurement", "drop shipments")[1].name == "Drop Shipments"
    with pytest.raises(CatalogError):
        cat.function("Procurement", "Drop Shipments")
