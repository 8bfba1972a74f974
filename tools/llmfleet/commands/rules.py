"""``llmfleet rules: every rule and built-in finding id.``"""

from __future__ import annotations

import click

from llmfleet.pipeline.config import load_config


@click.command("rules")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="markdown: the rule reference (docs/rules.md).",
)
def command(fmt):
    """List the lint rules and the built-in finding ids: id, severity (as lint reports it with
    this repository's llmfleet.yaml), description and remediation."""
    from llmfleet.pipeline.lint import rules_doc

    config = load_config()
    click.echo(rules_doc.render(fmt, config.rule_options, config.disabled_rules), nl=False)
