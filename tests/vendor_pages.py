"""The three vendor pages (shared/vendor-docs), transcribed by hand for the tests.

Independent of the manifests in cwroles/data/integrations/: tests compare the manifests, the policy
pack's baselines and the checklists the engine produces against this. Spellings are the pages' own
("Service Ticket - Dependancies", "Company module", "Time and Expense"), so the catalog's aliases are
exercised too. Levels are letters A/E/D/I (Add, Edit, Delete, Inquire), all at "All" on the pages;
the third field is the vendor's condition as a stack feature, or None.
"""

from __future__ import annotations

from cwroles.catalog import LEVEL_NAMES, load_catalog

MSP_PROCESS = [
    ("Companies › Company Maintenance", "I", None),
    ("Companies › Company/Contact Group Maintenance", "I", None),
    ("Companies › Configurations", "I", "configuration-links"),  # *
    ("Companies › Contacts", "AEI", None),
    ("Companies › CRM/Sales Activities", "I", None),
    ("Companies › Manage Attachments", "AI", None),
    ("Companies › Notes", "AEI", None),
    ("Companies › Team Members", "I", None),
    ("Finance › Agreements", "I", "time-entries"),  # ***
    ("Finance › Invoicing", "I", "invoices-tab"),  # **
    ("Project › Project Tickets", "I", None),
    ("Service Desk › Close Service Tickets", "AEI", None),
    ("Service Desk › Resource Scheduling", "AI", None),
    ("Service Desk › Service Ticket - Dependancies", "AEI", None),
    ("Service Desk › Service Tickets - Finance", "I", None),
    ("Service Desk › Service Tickets", "AEI", None),
    ("Service Desk › SLA Dashboard", "I", None),
    ("Service Desk › Ticket Templates", "I", None),
    ("System › Member Maintenance", "I", None),
    ("System › My Company", "I", None),
    ("System › Table Setup", "I", None),
    ("Time and Expense › Time Entry", "AEI", "time-entries"),  # ***
]
MSP_PROCESS_TABLES = [
    "Activities / Activity Status-CRM", "Activities / Activity Type", "Company / Company Status",
    "Company / Company Type", "Company / Configuration", "Company / Configuration Status", "Company / Team Role",
    "Contacts / Communication Type", "Contacts / Contact Relationship", "Contacts / Contact Type",
    "Contacts / Department", "General / Auto Sync", "Scheduling / Location", "Scheduling / Reminder Time",
    "Scheduling / Schedule Type", "Scheduling / Schedule Status", "Service / Priority", "Service / Service Board",
    "Service / Severity", "Service / Source", "Service / Ticket Description Links", "Service / Ticket Templates",
    "Time / Work Role", "Time / Work Type",
]
MOBIUS = [
    ("Companies › Company Maintenance", "I", None),
    ("Companies › Contacts", "I", None),
    ("Companies › Manage Attachments", "I", None),
    ("Finance › Accounting Interface", "AEDI", None),
    ("Finance › Invoicing", "EDI", None),
    ("Procurement › Product Catalog", "I", None),
    ("Procurement › Products", "I", None),
    ("Procurement › Purchase Orders", "I", None),  # and "Purchase Orders (Aiso)": the same catalog row
    ("Project › Project Tickets", "I", None),
    ("Service Desk › Service Tickets", "I", None),
    ("System › API Reports", "I", None),
    ("System › Custom Menu Entry", "AEDI", None),
    ("System › Member Maintenance", "I", None),
    ("System › Table Setup", "I", None),
    ("Time & Expense › Expense Report Entry", "I", None),
    ("Time & Expense › Time Entry", "I", None),
]
MOBIUS_TABLES = ["General Ledger / Accounting Package", "Invoicing / Billing Status", "Invoicing / Tax code",
                 "Products / UOM"]
MOBIUS_DELETE_WAIVED = ["Finance › Accounting Interface", "Finance › Invoicing", "System › Custom Menu Entry"]
MANAGED_BACKUP = [
    ("System › Table Setup", "I", None),
    ("Company module › Company Maintenance", "I", None),
    ("Company Module › Contacts", "I", None),
    ("Service Desk › Close Service Tickets", "EI", None),
    ("Service Desk › Service Tickets", "AEI", None),
    ("Finance › Agreements", "AEI", None),
    ("Finance Module › Company Finance", "AEI", None),
    ("Procurement › Product Catalog", "I", None),
    ("Procurement › Products", "I", None),
    ("Procurement › Product Billable Option", "AEI", None),
]

# integration -> (role name, rows, always-on allow-lists, allow-lists per feature)
VENDORS = {
    "msp-process": ("MSP Process", MSP_PROCESS, {"System › Table Setup": MSP_PROCESS_TABLES}, {}),
    "mobius": ("Mobius", MOBIUS, {"System › Table Setup": MOBIUS_TABLES},
               {"custom-menu-entry": {"System › Custom Menu Entry": ["Mobius"]}}),
    "managed-backup": ("API", MANAGED_BACKUP, {"System › Table Setup": ["Service / Service Board"]}, {}),
}
FEATURES = {"msp-process": ["configuration-links", "invoices-tab", "time-entries"],
            "mobius": ["custom-menu-entry"], "managed-backup": []}
LETTER = {"add": "A", "edit": "E", "delete": "D", "inquire": "I"}


def rows_for(integration: str, features: set[str] | frozenset = frozenset()) -> list[tuple[str, str]]:
    """(where, letters) the page asks for with ``features`` on."""
    return [(w, lv) for w, lv, feat in VENDORS[integration][1] if feat is None or feat in features]


def canonical(where: str) -> tuple[str, str]:
    """("Module", "Function") in the catalog's spelling."""
    module, function = where.split(" › ")
    m, f = load_catalog().function(module, function)
    return m.name, f.name


def granted_levels(rows) -> dict[tuple[str, str], set[str]]:
    """{(module, function): {"add", "inquire", …}} for rows of (where, letters)."""
    return {canonical(w): {n for n in LEVEL_NAMES if LETTER[n] in letters} for w, letters in rows}


def allow_lists(integration: str, features: set[str] | frozenset = frozenset()) -> dict[str, list[str]]:
    """{"System › Table Setup": [...]} the page asks for with ``features`` on (vendor spellings)."""
    _, _, always, per_feature = VENDORS[integration]
    out = {k: list(v) for k, v in always.items()}
    for feat in features:
        out.update(per_feature.get(feat, {}))
    return out


def canonical_item(function: str, item: str) -> str:
    return load_catalog().setup_table(item).name if function.endswith("Table Setup") else item
