"""A name the bundled catalog lacks may still be right (the catalog is incomplete; the live tenant is the
authority on its own): every "unknown" error says how to declare it, wherever the name was written."""

from __future__ import annotations

import pytest

from cwroles.catalog import TENANT_CATALOG_FIX, CatalogError, load_catalog
from cwroles.names import UnknownName, resolve_function, resolve_where


@pytest.mark.parametrize("module,function", [
    ("Service Desk", "Knowledge Base"),  # a real function the bundled catalog does not list
    ("Service Desk", "Service Tikets"),  # a typo: the close names come first, the way out still follows
    ("Knowledge Base", "Articles"),  # a module it does not know
])
def test_an_unknown_name_says_how_to_declare_what_the_tenant_has(module, function):
    with pytest.raises(UnknownName) as e:
        resolve_function(module, function)
    assert "tenant_catalog" in e.value.fix and "cwroles catalog diff" in e.value.fix
    with pytest.raises(UnknownName) as e:
        resolve_where(f"{module} › {function}")
    assert "tenant_catalog" in e.value.fix


def test_the_catalogs_own_lookups_say_it_too():
    with pytest.raises(CatalogError) as e:
        load_catalog().function("Service Desk", "Knowledge Base")
    assert TENANT_CATALOG_FIX in str(e.value)
