"""The README's settings table is the user's reference: it must name every setting."""

from __future__ import annotations

import re
from pathlib import Path

from tasks.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Settings") :]
    table = table[: table.index("\n## ", 3)]
    documented = set(re.findall(r"`(PDBI_[A-Z_]+)`", table))
    expected = {f"PDBI_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from README.md"
    assert documented - expected == set(), "README.md documents settings that do not exist"
