"""No format quotes a Secret's value from any field of a finding (message, rule, kind, name,
namespace, path, file, overlay, JUnit's classname, SARIF's logical location), a Secret whose
``data`` or ``stringData`` is written as a scalar or a list is as secret as a mapping, and an
internal error's message leaves out the values it may quote."""

from __future__ import annotations

import click
import pytest

from llmfleet.cli import internal_error
from llmfleet.infra import exitcodes
from llmfleet.infra.findings import Finding, Severity
from llmfleet.model.secrets import secret_values
from llmfleet.pipeline.redact import remember, scrub_internal
from llmfleet.pipeline.report import Report, Subject
from llmfleet.pipeline.reporters import FORMATS, REPORTERS

VALUE = "Sup3rS3cretPassw0rd"


@pytest.mark.parametrize(
    "field",
    [
        {"stringData": VALUE},
        {"stringData": [VALUE]},
        {"stringData": [f"DB_PASSWORD={VALUE}"]},
        {"data": [f"DB_PASSWORD={VALUE}"]},
        {"data": {"nested": [VALUE]}},
        {"stringData": f"DB_PASSWORD: x\nOTHER: {VALUE}"},
    ],
)
def test_secret_data_in_any_shape_is_secret(field):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, **field}
    assert VALUE in secret_values([secret])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "shape", [f"stringData: {VALUE}", f"stringData: [{VALUE}]", f"data:\n  - DB_PASSWORD={VALUE}"]
)
def test_schema_message_never_quotes_scalar_or_list_secret_data(cli, empty_repo, fmt, shape):
    manifest = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n{shape}\n"
    for command in ("validate", "lint"):
        extra = ["--validator", "jsonschema"] if command == "validate" else []
        result = cli([command, "-", "--format", fmt, *extra], cwd=empty_repo, input=manifest)
        assert result.exit_code in (exitcodes.OK, exitcodes.FINDINGS), result.stderr
        assert VALUE not in result.stdout + result.stderr


def _report_with_the_value_everywhere() -> Report:
    report = Report("lint", secrets={VALUE})
    report.inputs.append(f"overlays/{VALUE}")
    report.subjects.append(Subject(f"overlays/{VALUE}", f"{VALUE}.yaml", VALUE, VALUE, VALUE, VALUE))
    report.findings.append(
        Finding(
            rule=f"rule-{VALUE}",
            severity=Severity.ERROR,
            message=f"value {VALUE}",
            overlay=f"overlays/{VALUE}",
            file=f"{VALUE}.yaml",
            line=3,
            kind=VALUE,
            api_version=VALUE,
            name=VALUE,
            namespace=VALUE,
            path=f"/data/{VALUE}",
        )
    )
    return report


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_field_of_every_format_is_scrubbed(fmt):
    out = REPORTERS[fmt](_report_with_the_value_everywhere())
    assert VALUE not in out
    assert "<redacted>" in out.replace("&lt;", "<").replace("&gt;", ">")


def test_a_value_read_before_is_scrubbed_from_a_report_that_did_not_collect_it(monkeypatch):
    monkeypatch.setattr("llmfleet.pipeline.redact._SEEN", set())
    remember([VALUE])
    report = _report_with_the_value_everywhere()
    report.secrets = set()
    for fmt in FORMATS:
        assert VALUE not in REPORTERS[fmt](report)


def test_internal_error_leaves_out_quoted_and_remembered_values(monkeypatch, capsys):
    monkeypatch.setattr("llmfleet.pipeline.redact._SEEN", set())
    remember(["Hunter2Remembered"])
    assert "Hunter2Sup3rSecret" not in scrub_internal(
        "invalid literal for int() with base 10: 'Hunter2Sup3rSecret'"
    )
    assert "Hunter2Remembered" not in scrub_internal("bad value Hunter2Remembered here")
    with click.Context(click.Command("x")):
        code = internal_error(ValueError("invalid literal for int() with base 10: 'Hunter2Sup3rSecret'"))
    assert code == exitcodes.INTERNAL
    err = capsys.readouterr().err
    assert "Hunter2Sup3rSecret" not in err and "internal error: ValueError" in err
