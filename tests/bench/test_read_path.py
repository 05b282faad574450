"""The first-reads measurement groups what the reads imported by package, leaving out what was loaded before."""

from __future__ import annotations

from bench.read_path import _imports_by_group

IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:      2000 |       2000 | pulumi.dynamic
import time:      1500 |       1500 |     pydantic_core.core_schema
import time:       500 |       2000 |   pydantic
import time:       700 |        700 |       h11._events
import time:       300 |       1000 |   httpx
import time:      4000 |       4000 | cwroles.catalog
import time:       250 |        250 | difflib
"""


def test_imports_are_grouped_by_package_and_what_was_loaded_before_is_left_out():
    assert _imports_by_group(IMPORTTIME, before={"pulumi.dynamic"}) == {
        "pydantic": 2.0, "httpx": 1.0, "cwroles": 4.0, "standard library and other": 0.25}


def test_a_package_the_reads_did_not_import_counts_zero():
    assert _imports_by_group(IMPORTTIME, before={"pulumi.dynamic", "pydantic", "pydantic_core.core_schema"})["pydantic"] == 0
