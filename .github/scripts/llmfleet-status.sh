#!/usr/bin/env bash
# Turns an llmfleet exit code into the result of a workflow step, so that a crash never
# passes as "findings". llmfleet's exit codes (tools/llmfleet/infra/exitcodes.py, README):
#   0 clean, 1 findings, 2 usage error, 3 a tool missing or failing, 4 internal error.
# Only 1 means "the check ran and found problems"; everything else but 0 is a failure of
# the check itself and fails the step with what it means.
#
# usage: llmfleet-status.sh STATUS [--findings-ok] [--report FILE]
#   --findings-ok   exit 0 on findings (another step already fails the job on them)
#   --report FILE   on 0 or 1 the report FILE must exist and not be empty: a process that
#                   died before writing it did not produce findings, whatever its status
set -euo pipefail

status="${1:?usage: llmfleet-status.sh STATUS [--findings-ok] [--report FILE]}"
shift
findings_ok=0
report=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --findings-ok) findings_ok=1; shift ;;
    --report) report="${2:?--report needs a file}"; shift 2 ;;
    *) echo "llmfleet-status.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

case "$status" in
  0|1)
    if [ -n "$report" ] && [ ! -s "$report" ]; then
      echo "::error::llmfleet exited $status but wrote no report to $report: it failed, it did not check"
      exit 1
    fi
    if [ "$status" = 1 ]; then
      if [ "$findings_ok" = 1 ]; then
        echo "llmfleet: findings (exit 1), reported"
        exit 0
      fi
      echo "::error::llmfleet found problems (exit 1): see the annotations"
      exit 1
    fi
    exit 0
    ;;
  2) meaning="usage error (a bad option or argument in the workflow)" ;;
  3) meaning="a tool it needs (kustomize, kubeconform, promtool, git) is missing or failing" ;;
  4) meaning="internal error (a bug in llmfleet: please report it)" ;;
  *) meaning="unexpected exit status (killed or crashed)" ;;
esac
echo "::error::llmfleet did not complete: exit $status, $meaning. This is not a findings report."
exit "$status"
