"""The width of a command's output: what the environment says when it prints, never what it said when the
CLI was imported (that made the output of one command depend on which test or command ran first)."""

from __future__ import annotations

from cwroles.commands import _common


def test_the_width_is_read_when_printing_not_when_the_console_was_made(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    console = _common._Console()  # made under a narrow terminal, as at import
    monkeypatch.setenv("COLUMNS", "132")
    assert console.width == 132


def test_piped_output_is_wide_enough_for_names(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    console = _common._Console()
    assert not console.is_terminal  # pytest captures the output
    assert console.width == _common.PIPED_WIDTH
    name = "System › Table Setup › Customize › Service / Service Board Status Notifications"
    with console.capture() as out:
        console.print(name)
    assert out.get().strip() == name  # one line, not cut or wrapped at rich's 80 columns
