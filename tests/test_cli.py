"""The ``stikprove`` command line as a whole."""

import subprocess
import sys

from stikprove.cli import build_parser, main

COMMANDS = {
    "synth",
    "validate-frame",
    "pseudonymize",
    "check-protocol",
    "design",
    "draw",
    "assign",
    "worklist",
    "import",
    "record",
    "status",
    "export",
    "audit",
    "simulate",
    "demo",
    "estimate",
    "compare",
    "flag",
    "agreement",
}


def test_every_step_has_its_command():
    """Each step of the flow is reachable as a sub-command."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) >= COMMANDS


def test_help_is_quick_because_heavy_libraries_load_lazily():
    """Building the parser imports neither pandas nor scipy (so --help answers at once)."""
    heavy = "('pandas', 'scipy', 'statsmodels', 'openpyxl')"
    code = (
        "import sys, stikprove.cli as c; c.build_parser(); "
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_command_prints_help_and_exits_2(capsys):
    """`stikprove` alone shows the commands and exits with the usage status."""
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
