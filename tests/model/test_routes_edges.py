"""Messages of llmfleet.model.routes' diff and the rendered routes file (mutation-testing
survivors, issue 26): `llmfleet check` shows these lines to the user."""

from __future__ import annotations

import pytest

from llmfleet.model.routes import diff_routes, render_routes_file

GOOD = "models: []\n"

# (committed text, expected text, lines the diff shows)
DIFFS = [
    ("models: [\n", GOOD, "the committed routes file is not valid YAML"),
    (GOOD, "models: [\n", "the expected routes file is not valid YAML"),
    (GOOD, "- a\n", "the expected routes file is not a YAML mapping"),
    ("models: []\nextra: 1\nzeta: 2\n", GOOD, "unexpected top-level keys: extra, zeta"),
]


@pytest.mark.parametrize(("committed", "expected", "line"), DIFFS)
def test_diff_routes_names_the_file_and_the_problem(committed, expected, line):
    out = diff_routes(committed, expected)
    assert any(o.startswith(line) for o in out), out


def test_rendered_routes_file_keeps_sorted_defaults():
    text = render_routes_file({"defaults": {"timeout": "60s", "retries": 2}, "models": []})
    assert "defaults:\n  retries: 2\n  timeout: 60s\n" in text
