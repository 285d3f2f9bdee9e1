"""What a rendered report's files carry: nothing beyond what the reader sees (issue 17,
item 7), with either engine, and an analyst's own notebook (`report --notebook`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from report_fixtures import make_report_study
from stikprove.cli import main

LONG_NUMBER = re.compile(r"\d\.\d{5,}")
"""A number with more decimals than any report shows (they show at most one, in percent)."""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Frederiksberg's report (the default engine, in this process) and the national
    overview (papermill's engine, as `stikprove report` runs it), with the command's stderr."""
    from stikprove.reports.render import render_report

    folder = tmp_path_factory.mktemp("report-files")
    study, _ = make_report_study(folder)
    out = folder / "reports"
    render_report(study, "147", out)
    done = subprocess.run(
        [sys.executable, "-m", "stikprove", "report", str(study), "--national", "--out",
         str(out), "--engine", "papermill", "--no-progress"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return folder, out, done.stderr


def _outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        yield from cell.get("outputs", [])


@pytest.mark.slow
def test_report_files_hold_no_absolute_path(rendered):
    """Neither the parameters (injected cell, papermill's record) nor any output of the
    executed notebooks, nor the HTML, names the folder the study lies in; the study is
    given relative to the report's folder."""
    folder, out, _ = rendered
    for path in [*out.glob("*.ipynb"), *out.glob("*.html")]:
        text = path.read_text(encoding="utf-8")
        assert str(folder) not in text and str(folder.resolve()) not in text, path.name
    for name in ("147", "national"):
        nb = json.loads((out / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert nb["metadata"]["papermill"]["parameters"]["study"] == "../study.sqlite"
        injected = next(c for c in nb["cells"] if "injected-parameters" in c["metadata"]["tags"])
        assert 'study = "../study.sqlite"' in "".join(injected["source"])
    record = json.loads((out / "national.ipynb").read_text(encoding="utf-8"))["metadata"]
    assert record["papermill"]["input_path"] == "national_overview.ipynb"
    assert record["papermill"]["output_path"] == "national.ipynb"


@pytest.mark.slow
def test_report_notebooks_keep_no_hidden_full_precision_output(rendered):
    """An output keeps only the form the report shows: no plain-text repr beside a table's
    HTML (it held the unrounded estimates), no number with five or more decimals in any
    text output."""
    _, out, _ = rendered
    for name in ("147", "national"):
        outputs = list(_outputs(out / f"{name}.ipynb"))
        assert any("text/html" in o.get("data", {}) for o in outputs)
        for output in outputs:
            data = output.get("data", {})
            assert not ("text/plain" in data and len(data) > 1), (name, sorted(data))
            texts = [v for k, v in data.items() if not k.startswith("image/")]
            text = "".join("".join(t) if isinstance(t, list) else str(t) for t in texts)
            assert not LONG_NUMBER.search(text), (name, LONG_NUMBER.search(text))


@pytest.mark.slow
def test_report_run_with_papermill_prints_no_kernel_noise(rendered):
    """The papermill engine's kernel shuts down without a KeyboardInterrupt, a traceback or
    a transport warning on stderr, and no notebook output is a stream of either."""
    _, out, stderr = rendered
    for noise in ("KeyboardInterrupt", "Traceback", "WARNING"):
        assert noise not in stderr
    for path in out.glob("*.ipynb"):
        for output in _outputs(path):
            assert output["output_type"] != "error", path.name
            assert "KeyboardInterrupt" not in json.dumps(output), path.name


@pytest.mark.slow
def test_report_renders_an_analysts_own_notebook(rendered, tmp_path, capsys):
    """`stikprove notebooks` copies the notebooks out; `report --notebook` renders the
    edited copy (its new text in the HTML), the national overview from the shipped one."""
    import nbformat

    folder, _, _ = rendered
    mine = tmp_path / "mine"
    assert main(["notebooks", "--out", str(mine)]) == 0
    path = mine / "kommune_report.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Kommunens egen note: EGEN-RAPPORT-7"))
    nbformat.write(nb, path)
    out = tmp_path / "out"
    assert main(["report", str(folder / "study.sqlite"), "--kommune", "147", "--out", str(out),
                 "--notebook", str(path), "--no-progress"]) == 0  # fmt: skip
    assert "EGEN-RAPPORT-7" in (out / "147.html").read_text(encoding="utf-8")


def test_own_notebooks_are_refused_when_they_do_not_fit(tmp_path, capsys):
    """--notebook: a missing file, a file that is no notebook, a kommune notebook for the
    national overview, the design explorer for a report, a folder without notebooks: each
    refused (exit 2) before the study is read."""
    from stikprove.packaged import notebook

    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    empty = tmp_path / "empty"
    empty.mkdir()
    study = str(tmp_path / "none.sqlite")
    cases = [
        (["--kommune", "461", "--notebook", str(tmp_path / "gone.ipynb")], "no such file"),
        (["--kommune", "461", "--notebook", str(broken)], "not a readable notebook"),
        (["--national", "--notebook", str(notebook("kommune"))],
         "is a kommune report notebook (by its parameters), but the national overview is"),
        (["--kommune", "461", "--notebook", str(notebook("design"))],
         "is the design explorer notebook"),
        (["--all", "--notebook", str(empty)], "the folder holds none of kommune_report.ipynb"),
    ]  # fmt: skip
    for args, expected in cases:
        assert main(["report", study, *args]) == 2
        err = capsys.readouterr().err
        assert expected in err, (args, err)
        assert "none.sqlite" not in err


@pytest.mark.slow
def test_every_report_names_the_stikprove_version_that_wrote_it(rendered):
    """The executed notebook's metadata and the HTML (a generator tag and a closing line)
    name the version, with either engine."""
    from stikprove._version import __version__

    _, out, _ = rendered
    for name in ("147", "national"):
        nb = json.loads((out / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert nb["metadata"]["stikprove"] == {"version": __version__}
        html = (out / f"{name}.html").read_text(encoding="utf-8")
        generator = re.search(r'<meta [^>]*name="generator"[^>]*>', html)
        assert generator and f'content="stikprove {__version__}"' in generator.group(0)
        assert f">stikprove {__version__}</footer>" in html


def test_kernels_are_stopped_without_an_interrupt(monkeypatch):
    """A report kernel is stopped by a shutdown request: jupyter_client's shutdown_kernel
    sends SIGINT first (a busy kernel prints a KeyboardInterrupt traceback), so it is never
    used; the kernel process is gone afterwards."""
    from jupyter_client.manager import KernelManager

    from stikprove.reports.render import KernelSession

    interrupts = []

    async def interrupt(self):
        interrupts.append(self)

    monkeypatch.setattr(KernelManager, "_async_interrupt_kernel", interrupt)
    session = KernelSession()
    session.kc.execute_interactive("x = 1", timeout=60)
    km = session.km
    session.close()
    assert interrupts == [] and not km.is_alive()
