"""Drill reports are data, not markup: brackets in them must render, not crash Textual."""

from __future__ import annotations

from textual.content import Content

from subnetsim.tui.widgets.governance import _plain


def test_bracketed_and_truncated_report_values_parse_as_plain_text():
    for value in ["[]", "[{'block': 30, 'time':", "[scenario", "a [b]c[/b] d"]:
        rendered = Content.from_markup(f"[b]x[/b] {_plain(value)}")  # raised before the fix
        assert rendered.plain == f"x {value}"
