"""Every function and Table Setup table the three vendor pages name exists in the catalog.

The spellings below are typed by hand from docs/vendor-pages/*.txt (not read from the manifests):
each must be the catalog's own name or one of its recorded aliases.
"""

from pathlib import Path

import pytest

from cwroles.catalog import load_catalog, normalize

# (module as the page writes it, function as the page writes it)
MSP_PROCESS_FUNCTIONS = [
    ("Companies", "Company Maintenance"),
    ("Companies", "Company/Contact Group Maintenance"),
    ("Companies", "Configurations"),
    ("Companies", "Contacts"),
    ("Companies", "CRM/Sales Activities"),
    ("Companies", "Manage Attachments"),
    ("Companies", "Notes"),
    ("Companies", "Team Members"),
    ("Finance", "Agreements"),
    ("Finance", "Invoicing"),
    ("Project", "Project Tickets"),
    ("Service Desk", "Close Service Tickets"),
    ("Service Desk", "Resource Scheduling"),
    ("Service Desk", "Service Ticket - Dependancies"),
    ("Service Desk", "Service Tickets - Finance"),
    ("Service Desk", "Service Tickets"),
    ("Service Desk", "SLA Dashboard"),
    ("Service Desk", "Ticket Templates"),
    ("System", "Member Maintenance"),
    ("System", "My Company"),
    ("System", "Table Setup"),
    ("Time and Expense", "Time Entry"),
]
MOBIUS_FUNCTIONS = [
    ("Companies", "Company Maintenance"),
    ("Companies", "Contacts"),
    ("Companies", "Manage Attachments"),
    ("Finance", "Accounting Interface"),
    ("Finance", "Invoicing"),
    ("Procurement", "Product Catalog"),
    ("Procurement", "Products"),
    ("Procurement", "Purchase Orders"),
    ("Procurement", "Purchase Orders (Aiso)"),
    ("Project", "Project Tickets"),
    ("Service Desk", "Service Tickets"),
    ("System", "API Reports"),
    ("System", "Custom Menu Entry"),
    ("System", "Member Maintenance"),
    ("System", "Table Setup"),
    ("Time & Expense", "Expense Report Entry"),
    ("Time & Expense", "Time Entry"),
]
MANAGED_BACKUP_FUNCTIONS = [
    ("System module", "Table Setup"),
    ("Company module", "Company Maintenance"),
    ("Company Module", "Contacts"),
    ("Service Desk module", "Close Service Tickets"),
    ("Service Desk module", "Service Tickets"),
    ("Finance module", "Agreements"),
    ("Finance Module", "Company Finance"),
    ("Procurement module", "Product Catalog"),
    ("Procurement module", "Products"),
    ("Procurement module", "Product Billable Option"),
]
MSP_PROCESS_TABLES = [
    "Activities / Activity Status-CRM",
    "Activities / Activity Type",
    "Company / Company Status",
    "Company / Company Type",
    "Company / Configuration",
    "Company / Configuration Status",
    "Company / Team Role",
    "Contacts / Communication Type",
    "Contacts / Contact Relationship",
    "Contacts / Contact Type",
    "Contacts / Department",
    "General / Auto Sync",
    "Scheduling / Location",
    "Scheduling / Reminder Time",
    "Scheduling / Schedule Type",
    "Scheduling / Schedule Status",
    "Service / Priority",
    "Service / Service Board",
    "Service / Severity",
    "Service / Source",
    "Service / Ticket Description Links",
    "Service / Ticket Templates",
    "Time / Work Role",
    "Time / Work Type",
]
MOBIUS_TABLES = [
    "General Ledger / Accounting Package",
    "Invoicing / Billing Status",
    "Invoicing / Tax code",
    "Products / UOM",
]
MANAGED_BACKUP_TABLES = ["Service / Service Board"]


def _vendor_docs() -> Path:
    """The verbatim vendor pages kept in the repository (docs/vendor-pages)."""
    return Path(__file__).resolve().parents[2] / "docs" / "vendor-pages"


ALL_FUNCTIONS = sorted(set(MSP_PROCESS_FUNCTIONS + MOBIUS_FUNCTIONS + MANAGED_BACKUP_FUNCTIONS))
ALL_TABLES = sorted(set(MSP_PROCESS_TABLES + MOBIUS_TABLES + MANAGED_BACKUP_TABLES))


@pytest.mark.parametrize("module,function", ALL_FUNCTIONS)
def test_vendor_function_is_in_catalog_by_name_or_recorded_alias(module, function):
    cat = load_catalog()
    m, f = cat.function(module, function)
    # a module spelling differs only by "module" and case, or is a recorded alias
    assert normalize(module) in {normalize(n) for n in [m.name, *m.aliases]}
    # the function spelling is the catalog's name or a recorded alias, character for character
    assert function in [f.name, *f.aliases], f"{function!r} resolved to {f.name!r} without a recorded alias"


@pytest.mark.parametrize("table", ALL_TABLES)
def test_vendor_table_is_in_catalog_by_name_or_recorded_alias(table):
    cat = load_catalog()
    t = cat.setup_table(table)
    category, name = (p.strip() for p in table.split("/", 1))
    assert t.category == category
    assert name in [t.table, *t.aliases], f"{table!r} resolved to {t.name!r} without a recorded alias"


def test_mobius_purchase_orders_rows_are_one_catalog_row():
    cat = load_catalog()
    assert cat.function("Procurement", "Purchase Orders") == cat.function("Procurement", "Purchase Orders (Aiso)")


def test_mobius_custom_menu_entry_is_known():
    cat = load_catalog()
    _, f = cat.function("System", "Custom Menu Entry")
    assert cat.customize_item(f, "Mobius") == "Mobius"


def test_vendor_pages_are_the_transcribed_ones():
    """Guard against the hand lists drifting from the pages: every function name above occurs on its page."""
    root = _vendor_docs()
    for page, rows in [("msp-process.txt", MSP_PROCESS_FUNCTIONS), ("mobius.txt", MOBIUS_FUNCTIONS),
                       ("managed-backup.txt", MANAGED_BACKUP_FUNCTIONS)]:
        text = (root / page).read_text()
        for _, fn in rows:
            assert fn in text, f"{fn!r} not on {page}"
    for page, tables in [("msp-process.txt", MSP_PROCESS_TABLES), ("mobius.txt", MOBIUS_TABLES),
                         ("managed-backup.txt", MANAGED_BACKUP_TABLES)]:
        text = (root / page).read_text()
        for t in tables:
            assert t in text, f"{t!r} not on {page}"
