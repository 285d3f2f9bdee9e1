"""One command-line grammar across every sub-command (issue 22 item 3): the same option
names with the same meanings, `--format` with the same choices where a table is written,
`--out` always a file (`--out-dir` a folder), every default stated, an example in every
help, and the commands in the order of the work."""

import argparse

import pytest

from stikprove.cli import EXAMPLES, WORK_ORDER, build_parser, main
from stikprove.commands import TABLE_FORMATS

PARSER = build_parser()
SUBCOMMANDS = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction))
COMMANDS = dict(SUBCOMMANDS.choices)

#: `worklist --format` is the worklist's file type (xlsx or csv), not a result table's.
FILE_TYPE_FORMATS = {"worklist"}
#: `design --format json` writes the whole design object, beside the table formats.
EXTRA_FORMATS = {"design": {"json"}}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {o: a for a in parser._actions for o in a.option_strings if a.help != argparse.SUPPRESS}


def _all_parsers():
    """Every (sub-)command parser, nested ones (reviewer add, ...) included."""
    stack = [(name, p) for name, p in COMMANDS.items()]
    while stack:
        name, parser = stack.pop()
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack += [(f"{name} {n}", p) for n, p in action.choices.items()]


def test_commands_are_listed_in_the_order_of_the_work(capsys):
    """`stikprove --help` lists every command, in WORK_ORDER; no command is left out of it."""
    assert set(COMMANDS) <= set(WORK_ORDER), set(COMMANDS) - set(WORK_ORDER)
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    listed = sorted(COMMANDS, key=lambda c: help_text.index(f"\n    {c} "
                                                            if f"\n    {c} " in help_text
                                                            else f"\n    {c}\n"))  # fmt: skip
    assert listed == [c for c in WORK_ORDER if c in COMMANDS]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_help_runs_and_shows_an_example(command, capsys):
    """`stikprove COMMAND --help` exits 0 and ends with an example of that command."""
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "example" in text and f"stikprove {command}" in text.split("example")[-1]
    assert command in EXAMPLES or COMMANDS[command].epilog


def test_every_default_is_stated():
    """Every option with a default (not none, not off) says it in its help."""
    missing = []
    for name, parser in _all_parsers():
        formatter = parser._get_formatter()
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS:
                continue
            if action.default in (None, False, argparse.SUPPRESS, []):
                continue
            if isinstance(action, argparse._VersionAction | argparse._HelpAction):
                continue
            shown = formatter._expand_help(action)
            if "default" not in shown:
                missing.append(f"{name} {action.option_strings[0]}")
    assert not missing, missing


def test_out_is_a_file_and_out_dir_a_folder():
    """`--out` names a file in every command; a folder is `--out-dir DIR`."""
    for name, parser in _all_parsers():
        options = _options(parser)
        if "--out" in options:
            action = options["--out"]
            help_text = (action.help or "").lower()
            assert action.metavar != "DIR" and not help_text.startswith(("output folder",
                                                                          "folder")), name
        if "--out-dir" in options:
            assert options["--out-dir"].metavar == "DIR", name


def test_format_has_the_same_choices_wherever_a_table_is_written():
    """`--format` offers table, csv, csv-da and xlsx in every command writing a table (the
    worklist's file type and design's json aside)."""
    for name, parser in _all_parsers():
        action = _options(parser).get("--format")
        if action is None or name in FILE_TYPE_FORMATS:
            continue
        extra = EXTRA_FORMATS.get(name, set())
        assert set(action.choices) - extra == set(TABLE_FORMATS), name
        assert tuple(c for c in action.choices if c not in extra) == TABLE_FORMATS, name


@pytest.mark.parametrize("option", ["--confidence-level", "--method", "--jobs",
                                    "--disclosure-threshold", "--language", "--by",
                                    "--outcome", "--strata", "--population-size"])  # fmt: skip
def test_an_option_means_the_same_everywhere(option):
    """An option has one type, default and metavar in every command that has it (the
    study's setting when none is given)."""
    seen = {}
    for name, parser in _all_parsers():
        action = _options(parser).get(option)
        if action is None:
            continue
        seen[name] = (action.type, action.metavar, action.default if option != "--by" else None)
    assert seen, option
    assert len(set(seen.values())) == 1, seen


def test_compare_shows_by_as_required(capsys):
    """compare's usage shows --by as required, and refuses a call without it."""
    usage = COMMANDS["compare"].format_usage()
    assert "[--by BY]" not in usage and "--by BY" in usage
    with pytest.raises(SystemExit) as exit_:
        main(["compare", "x.csv", "--outcome", "too_ill"])
    assert exit_.value.code == 2


def test_no_option_that_does_nothing():
    """simulate writes coverage and widths, no counts: it has no --raw or
    --disclosure-threshold (they did nothing)."""
    options = _options(COMMANDS["simulate"])
    assert "--raw" not in options and "--disclosure-threshold" not in options


def test_the_old_out_of_folder_commands_still_works(tmp_path):
    """`synth --out DIR`, from before --out-dir, still writes the folder (unlisted)."""
    args = PARSER.parse_args(["synth", "--out", str(tmp_path), "--seed", "1"])
    assert args.out == tmp_path


def test_design_writes_danish_csv_and_xlsx(tmp_path, capsys):
    """design --format csv-da prints the strata table with decimal commas, at most 6
    decimals; --format xlsx --out writes the workbook."""
    from pathlib import Path

    protocol = Path(__file__).resolve().parents[1] / "protocols" / "odense-replication.toml"
    assert main(["design", str(protocol), "--format", "csv-da"]) == 0
    text = capsys.readouterr().out
    assert ";" in text.splitlines()[0] and "Stratum" in text.splitlines()[0]
    assert not any(len(cell.split(",")[-1]) > 6 for line in text.splitlines()[1:]
                   for cell in line.split(";") if cell.replace(",", "").isdigit())  # fmt: skip
    out = tmp_path / "design.xlsx"
    assert main(["design", str(protocol), "--format", "xlsx", "--out", str(out)]) == 0
    assert out.is_file()
