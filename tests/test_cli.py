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


def test_every_option_of_every_command_says_what_it_does():
    """No option shows up in --help bare (e.g. `--format {table,csv}` or `--replications
    REPLICATIONS` without a word on what it does or its default)."""
    import argparse

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    bare = [
        f"{name} {action.option_strings or action.dest}"
        for name, command in sub.choices.items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert bare == []


def test_output_piped_into_head_ends_quietly(tmp_path):
    """A reader that stops early (`| head -c 10`) gives no BrokenPipeError traceback."""
    from stikprove.store import create_study
    from store_fixtures import make_sample

    strata = {f"101|kvinde|o{i}": ("101", "kvinde", f"o{i}", 900, 400) for i in range(6)}
    study = tmp_path / "big.sqlite"
    create_study(study, make_sample(strata=strata), reviewers=("anna", "bo"))
    # the export of 2,400 cases is written in chunks, far more than a pipe buffer holds
    command = [sys.executable, "-m", "stikprove.cli", "export", str(study)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as producer:
        assert producer.stdout is not None and producer.stderr is not None
        producer.stdout.read(10)
        producer.stdout.close()  # the reader goes away, as `head` does
        err = producer.stderr.read().decode()
        status = producer.wait(timeout=60)
    assert "Traceback" not in err, err
    assert status == 0


def test_a_usage_error_never_echoes_a_cpr_number(capsys):
    """argparse quotes a bad argument ("invalid choice: ..."): a CPR-like number typed in
    the wrong place is masked there too, and the exit status is 2."""
    import pytest

    from stikprove.cpr import MASK

    with pytest.raises(SystemExit) as info:
        main(["estimate", "x.csv", "--outcome", "y", "--format", "010190 1234"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and MASK in err and "1234" not in err
