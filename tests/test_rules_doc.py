"""docs/rules.md is generated from the rules' code and must be current; every check is in it."""

from __future__ import annotations

from llmfleet.pipeline.lint import rules_doc
from llmfleet.pipeline.lint.registry import all_checks
from llmfleet_testlib import REPO_ROOT


def test_committed_rule_reference_is_current():
    committed = (REPO_ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == rules_doc.render("markdown"), (
        "docs/rules.md is stale: run `.venv/bin/llmfleet rules --format markdown > docs/rules.md`"
    )


def test_every_check_is_documented_with_examples():
    text = rules_doc.render("markdown")
    for check in all_checks():
        assert f"\n## {check.id}\n" in text, check.id
    assert text.count("```yaml") > 40
