"""Process exit codes, as named constants (documented in the README)."""

OK = 0
#: At least one finding at error severity (or any finding with --strict).
FINDINGS = 1
#: Bad command line or bad input to a command that writes (new-model, cost).
USAGE = 2
#: An external tool (kustomize, kubectl, kubeconform, promtool, git) is missing or failed.
TOOL = 3
