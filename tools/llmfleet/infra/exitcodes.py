"""Process exit codes, as named constants (documented in the README and ``llmfleet --help``).

CI can tell them apart: only ``FINDINGS`` means "the manifests have problems"; every other
non-zero code means the run itself did not complete as asked.
"""

OK = 0
#: At least one finding at error severity (or any finding with --strict).
FINDINGS = 1
#: Bad command line, bad input to a command that writes (new-model, cost), or a report that
#: cannot be written (-o into an unwritable place, stdout closed or full).
USAGE = 2
#: An external tool (kustomize, kubectl, kubeconform, promtool, git) is missing, failed or
#: timed out (other than a render that times out: that is a finding for its overlay).
TOOL = 3
#: An unexpected exception: a bug in llmfleet, never a verdict on the manifests.  One line
#: on stderr says where to report it; LLMFLEET_DEBUG=1 prints the traceback.
INTERNAL = 4
#: The reader of stdout went away (``llmfleet ... | head -1``): 128 + SIGPIPE, as a shell
#: reports a program killed by it.
BROKEN_PIPE = 141
#: Stopped by a signal: 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP); running tools
#: are stopped and temporary files removed first.
SIGNAL_BASE = 128
INTERRUPTED = SIGNAL_BASE + 2
TERMINATED = SIGNAL_BASE + 15

#: Every code llmfleet exits with.
DOCUMENTED = frozenset(
    {OK, FINDINGS, USAGE, TOOL, INTERNAL, BROKEN_PIPE, SIGNAL_BASE + 1, INTERRUPTED, TERMINATED}
)
