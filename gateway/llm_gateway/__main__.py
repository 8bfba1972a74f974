"""``python -m llm_gateway``: run the gateway; every setting comes from ``GATEWAY_*``
environment variables.  ``-h``/``--help`` prints them and exits 0; any other argument is a
usage error (exit 2), since a flag given here would otherwise be silently ignored."""

import dataclasses
import sys

USAGE = "usage: python -m llm_gateway [-h]"


def _help() -> str:
    from .config import Settings

    lines = [
        USAGE,
        "",
        "An OpenAI-compatible proxy that routes each request by its `model` field to that",
        "model's vLLM Service. It takes no arguments: it is configured by these environment",
        "variables (default in brackets; see gateway/README.md):",
        "",
    ]
    for field in dataclasses.fields(Settings):
        name = f"GATEWAY_{field.name.upper()}"
        secret = "key" in field.name and "file" not in field.name
        default = "" if secret else field.default
        lines.append(f"  {name:<32} [{default}]" if default not in ("", None) else f"  {name}")
    lines += ["", "Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad configuration or arguments."]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if any(arg in ("-h", "--help") for arg in argv):
        print(_help())
        return 0
    if argv:
        print(
            f"{USAGE}\npython -m llm_gateway: error: unexpected argument {argv[0]!r}; settings "
            "come from GATEWAY_* environment variables (see --help)",
            file=sys.stderr,
        )
        return 2
    from .server import main as serve

    return serve()


sys.exit(main(sys.argv[1:]))
