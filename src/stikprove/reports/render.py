"""Render the report notebooks: parameters in, executed .ipynb and self-contained .html out.

The notebooks shipped in the package (``stikprove/notebooks/``, :mod:`stikprove.packaged`;
``notebooks/`` in a checkout) are ordinary papermill notebooks (a cell tagged
``parameters``); papermill's own ``parameterize_notebook`` injects the parameters, exactly as
``papermill kommune_report.ipynb out.ipynb -p kommune 461`` would. What differs from
``papermill.execute_notebook`` is the kernel: papermill starts a new kernel per notebook (about
2 s before the first line runs: kernel start, then importing pandas, scipy, matplotlib and
great_tables), which for 98 kommuner is most of the time. Here a :class:`KernelSession` keeps
one kernel per worker and runs notebook after notebook in it (nbclient with an existing
kernel manager), resetting the user namespace between reports; the imported modules and the
study read by :func:`stikprove.reports.content.load_study` stay. ``engine="papermill"``
runs each report through ``papermill.execute_notebook`` instead (for comparison; see
benchmarks/bench_reports.py).

HTML comes from nbconvert's HTMLExporter with the code cells hidden (``exclude_input``),
figures embedded as PNG data and no script loaded from the network (the template under
``templates/stikprove``), so a report is one file that opens offline.

What is saved carries nothing a reader does not see (:func:`portable_parameters`,
:func:`clean_notebook`): the study and protocol are given to the notebook relative to the
report's folder (no absolute path in the parameters, the injected cell or papermill's
metadata), and an output keeps only its richest form (the table's HTML, not the plain-text
repr behind it, which held the unrounded numbers). Kernels talk over local IPC sockets and
are stopped by a shutdown request, never an interrupt (:func:`_stop_kernel`), so no kernel
prints a KeyboardInterrupt or a transport warning on the way out, with either engine.

Batches (:func:`render_reports`) run ``jobs`` workers, each with its own kernel; a kommune
that fails does not stop the others: all failures are collected and returned.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from stikprove import packaged
from stikprove._version import __version__
from stikprove.errors import StikproveError

NOTEBOOKS = packaged.notebooks_folder()
"""The folder of the shipped notebooks (package data)."""

TEMPLATES = Path(__file__).resolve().parent / "templates"

REPORTS = packaged.NOTEBOOKS

ENGINES = ("reuse", "papermill")

TIMED_TAGS = ("imports", "computation", "tables", "plots")
"""Cell tags whose execution time :class:`RenderedReport` reports separately."""


class ReportError(StikproveError):
    """A report could not be rendered."""


@dataclass(frozen=True)
class RenderedReport:
    """One rendered report: where its files are and where the time went (seconds)."""

    name: str
    notebook: Path
    html: Path
    seconds: float
    timings: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResult:
    """The reports of a batch, the failures (name, message) and the index page."""

    reports: tuple[RenderedReport, ...]
    failures: tuple[tuple[str, str], ...]
    index: Path | None
    seconds: float
    kernel_start: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def notebook_path(kind: str) -> Path:
    """The template notebook of a report kind ("kommune", "national", "design")."""
    if kind not in REPORTS:
        raise ReportError(f"report kind must be one of {tuple(REPORTS)}; got {kind!r}")
    return packaged.notebook(kind)


def _read(path: Path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def notebook_kind(path: str | Path) -> str:
    """The report kind of a notebook file ("kommune", "national" or "design"), told by its
    parameters cell (a ``kommune`` parameter: a kommune report; ``study`` without it: the
    national overview; ``protocol``: the design explorer). A file that is no notebook, or
    has no parameters cell naming ``study`` or ``protocol``, is refused."""
    import papermill

    path = Path(path)
    if not path.is_file():
        raise ReportError(f"--notebook {path}: no such file; expected a report notebook "
                          "(.ipynb), e.g. one copied out by 'stikprove notebooks'")  # fmt: skip
    try:
        parameters = papermill.inspect_notebook(str(path))
    except Exception as error:  # nbformat's and json's errors alike: not a notebook
        raise ReportError(f"--notebook {path}: not a readable notebook ({error})") from None
    if "kommune" in parameters and "study" in parameters:
        return "kommune"
    if "study" in parameters:
        return "national"
    if "protocol" in parameters:
        return "design"
    raise ReportError(
        f"--notebook {path}: its parameters cell (tagged 'parameters') names neither study "
        "nor protocol; expected a notebook copied out by 'stikprove notebooks' and edited"
    )


def own_notebooks(notebook: str | Path | None, kinds: Sequence[str]) -> dict[str, Path]:
    """The analyst's own notebooks for the report ``kinds`` about to be rendered: ``notebook``
    a notebook file (used for the kind its parameters tell, which must be one of ``kinds``)
    or a folder (its kommune_report.ipynb, national_overview.ipynb or design_explorer.ipynb,
    those present; at least one of ``kinds``). None: the shipped notebooks."""
    if notebook is None:
        return {}
    path = Path(notebook)
    if path.is_dir():
        found = {kind: path / REPORTS[kind] for kind in kinds if (path / REPORTS[kind]).is_file()}
        if not found:
            wanted = ", ".join(REPORTS[k] for k in kinds)
            raise ReportError(f"--notebook {path}: the folder holds none of {wanted}")
        for kind, file in found.items():
            if notebook_kind(file) != kind:
                raise ReportError(f"--notebook {file}: its parameters are not those of the "
                                  f"{kind} notebook")  # fmt: skip
        return found
    kind = notebook_kind(path)
    if kind not in kinds:
        names = {"kommune": "a kommune report", "national": "the national overview",
                 "design": "the design explorer"}  # fmt: skip
        raise ReportError(
            f"--notebook {path}: is {names[kind]} notebook (by its parameters), but "
            f"{' and '.join(names[k] for k in kinds)} is rendered here"
        )
    return {kind: path}


def parameterize(template, parameters: Mapping[str, object]):
    """A copy of ``template`` with papermill's injected-parameters cell."""
    from papermill.parameterize import parameterize_notebook

    nb = copy.deepcopy(template)
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    return parameterize_notebook(nb, dict(parameters), report_mode=False)


def _cell_seconds(cell) -> float:
    info = cell.get("metadata", {}).get("execution", {})
    start, end = info.get("iopub.execute_input"), info.get("shell.execute_reply")
    if not start or not end:
        return 0.0
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def cell_timings(nb) -> dict[str, float]:
    """Seconds spent in the cells of each :data:`TIMED_TAGS` tag (others in "other")."""
    out = dict.fromkeys((*TIMED_TAGS, "other"), 0.0)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        tag = next((t for t in tags if t in TIMED_TAGS), "other")
        out[tag] += _cell_seconds(cell)
    return out


def _error_message(error: BaseException) -> str:
    """The last line of a cell's error (its exception and message), without colour codes."""
    import re

    from nbclient.exceptions import CellExecutionError

    from stikprove import errors

    if isinstance(error, errors.StikproveError):
        return str(error)  # the package's own message says what is wrong: no class name
    if not isinstance(error, CellExecutionError):
        return f"{type(error).__name__}: {error}"
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    ours = {n for n in dir(errors) if isinstance(getattr(errors, n), type)
            and issubclass(getattr(errors, n), errors.StikproveError)}  # fmt: skip
    for line in reversed(lines):
        match = re.match(r"^(?:[A-Za-z_]+\.)*([A-Za-z_]*(?:Error|Exception))\b:?\s*", line)
        if match:
            return line[match.end():].strip() if match.group(1) in ours else line.strip()
    return lines[-1].strip() if lines else type(error).__name__


def _kernel_manager():
    """A kernel manager on local IPC sockets (rather than TCP: nothing listens on the
    network, and the kernel does not warn about an unencrypted port), and their folder."""
    import tempfile

    from jupyter_client.manager import KernelManager

    sockets = tempfile.mkdtemp(prefix="stikprove-kernel-")
    km = KernelManager(kernel_name="python3", transport="ipc",
                       ip=os.path.join(sockets, "kernel"))  # fmt: skip
    return km, sockets


SHUTDOWN_SECONDS = 3.0
"""How long a kernel has to exit after its shutdown request before it is terminated."""


def _stop_kernel(km, sockets: str) -> None:
    """Stop a kernel by a shutdown request, never by an interrupt: jupyter_client's
    ``shutdown_kernel`` (also with ``now=True``) first sends the kernel SIGINT, which a
    kernel that is busy or still starting answers with a KeyboardInterrupt traceback on the
    terminal. A kernel still running after :data:`SHUTDOWN_SECONDS` is terminated."""
    import shutil

    with contextlib.suppress(Exception):
        if km.has_kernel:
            km.request_shutdown()
            km.finish_shutdown(waittime=SHUTDOWN_SECONDS)
        km.cleanup_resources()
    shutil.rmtree(sockets, ignore_errors=True)


KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}


class KernelSession:
    """One Python kernel that runs notebook after notebook (see the module docstring).

    Use it as a context manager: ``with KernelSession() as session:
    session.execute(parameterize(template, {"kommune": "461"}))``.
    """

    def __init__(self, cwd: str | Path | None = None, timeout: int = 600) -> None:
        started = time.perf_counter()
        self.cwd = str(cwd or os.getcwd())
        self.timeout = timeout
        self.km, self._sockets = _kernel_manager()
        self.km.start_kernel(cwd=self.cwd, env={**os.environ, **KERNEL_ENV})
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=timeout)
        self.start_seconds = time.perf_counter() - started

    def execute(self, nb):
        """Run every code cell of ``nb`` (in place) after clearing the user namespace."""
        from nbclient import NotebookClient

        self.kc.execute_interactive("get_ipython().run_line_magic('reset', '-f')",
                                    silent=True, timeout=self.timeout)  # fmt: skip
        client = NotebookClient(nb, km=self.km, timeout=self.timeout, kernel_name="python3",
                                resources={"metadata": {"path": self.cwd}})  # fmt: skip
        client.kc = self.kc
        client.execute()
        return nb

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kc.stop_channels()
        _stop_kernel(self.km, self._sockets)

    def __enter__(self) -> KernelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


PATH_PARAMETERS = ("study", "protocol")
"""The notebooks' parameters that name a file."""

RICH_OUTPUTS = ("text/html", "text/markdown", "image/png", "image/svg+xml", "image/jpeg")


def portable_parameters(parameters: Mapping[str, object], folder: str | Path) -> dict:
    """``parameters`` with the file they name (:data:`PATH_PARAMETERS`) relative to
    ``folder``, the kernel's working folder (the report's): the saved notebook then holds no
    absolute path and reruns from its own folder. A path on another drive stays absolute."""
    out = dict(parameters)
    for key in PATH_PARAMETERS:
        if isinstance(out.get(key), (str, Path)):
            with contextlib.suppress(ValueError):  # another drive (Windows)
                out[key] = os.path.relpath(os.path.abspath(out[key]), os.path.abspath(folder))
    return out


def clean_notebook(nb, template_name: str, name: str):
    """``nb`` (in place) without what a reader does not see: of each output's forms only
    the rich one when there is one (a table's plain-text repr held its unrounded numbers),
    and papermill's record of the notebook's paths reduced to file names."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and "text/plain" in data and any(k in data for k in RICH_OUTPUTS):
                del data["text/plain"]
    record = nb.metadata.get("papermill")
    if record:
        if record.get("input_path"):
            record["input_path"] = template_name
        if record.get("output_path"):
            record["output_path"] = f"{name}.ipynb"
    return nb


def html_of(nb) -> str:
    """Self-contained HTML of an executed notebook, code hidden."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name="stikprove",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    # the notebooks' own instructions (cells tagged remove-cell) are not part of a report
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"remove-cell"}, enabled=True), enabled=True
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def _write(path: Path, text: str) -> None:
    from stikprove.files import atomic_write_text

    atomic_write_text(path, text)


def _report_name(kind: str, kommune: str | None) -> str:
    return kommune if kind == "kommune" else kind


def render_notebook(
    kind: str,
    parameters: Mapping[str, object],
    out: str | Path,
    *,
    name: str | None = None,
    session: KernelSession | None = None,
    engine: str = "reuse",
    notebook: str | Path | None = None,
) -> RenderedReport:
    """Execute the ``kind`` notebook with ``parameters`` and write NAME.ipynb and NAME.html
    under ``out``. Without ``session`` a kernel is started for this one report.
    ``notebook``: the analyst's own notebook instead of the shipped one."""
    import nbformat

    if engine not in ENGINES:
        raise ReportError(f"engine must be one of {ENGINES}; got {engine!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = name or _report_name(kind, str(parameters.get("kommune")))
    started = time.perf_counter()
    template = Path(notebook) if notebook is not None else notebook_path(kind)
    parameters = portable_parameters(parameters, session.cwd if session is not None else out)
    timings: dict[str, float] = {}
    try:
        if engine == "papermill":
            nb = _papermill(template, out, name, parameters)
        else:
            nb = parameterize(_read(template), parameters)
            nb.metadata["title"] = f"stikprove: {name}"  # the HTML page's <title>
            if session is None:
                with KernelSession(cwd=out) as own:
                    timings["kernel_start"] = own.start_seconds
                    own.execute(nb)
            else:
                session.execute(nb)
    except Exception as error:  # a cell failed: say which error, keep going elsewhere
        if isinstance(error, StikproveError):
            raise
        raise ReportError(f"{name}: {_error_message(error)}") from None
    executed = time.perf_counter()
    timings["execute"] = executed - started
    timings.update(cell_timings(nb))
    clean_notebook(nb, template.name, name)
    nb.metadata["stikprove"] = {"version": __version__}  # shown at the end of the HTML
    html = html_of(nb)
    exported = time.perf_counter()
    timings["html"] = exported - executed
    _write(out / f"{name}.ipynb", nbformat.writes(nb))
    _write(out / f"{name}.html", html)
    timings["write"] = time.perf_counter() - exported
    return RenderedReport(name, out / f"{name}.ipynb", out / f"{name}.html",
                          time.perf_counter() - started, timings)  # fmt: skip


def _papermill(template: Path, out: Path, name: str, parameters: Mapping[str, object]):
    """``papermill.execute_notebook`` in ``out``, with a kernel of :func:`_kernel_manager`
    (stopped without an interrupt afterwards)."""
    import papermill

    km, sockets = _kernel_manager()
    try:
        return papermill.execute_notebook(
            str(template), str(out / f"{name}.ipynb"), parameters=dict(parameters),
            progress_bar=False, cwd=str(out), km=km,
        )  # fmt: skip
    finally:
        _stop_kernel(km, sockets)


def report_parameters(
    study: str | Path,
    kommune: str | None = None,
    *,
    language: str = "da",
    indicators: Sequence[str] | None = None,
    confidence_level: float | None = None,
    interval_method: str | None = None,
    disclosure_threshold: int | None = None,
) -> dict[str, object]:
    """The parameters of the kommune and national notebooks (None: the notebook's default,
    which takes the protocol's value)."""
    params: dict[str, object] = {"study": str(Path(study).resolve()), "language": language}
    if kommune is not None:
        params["kommune"] = str(kommune)
    optional = {"indicators": list(indicators) if indicators else None,
                "confidence_level": confidence_level, "interval_method": interval_method,
                "disclosure_threshold": disclosure_threshold}  # fmt: skip
    params.update({k: v for k, v in optional.items() if v is not None})
    return params


def check_report_parameters(data, parameters: Mapping[str, object]) -> None:
    """Refuse a bad language, indicator, confidence level, interval method or threshold
    once, before any report is rendered (a batch would otherwise fail every kommune)."""
    from stikprove.methods import DEPRECATED_METHOD_NAMES, DOMAIN_INTERVAL_METHODS
    from stikprove.release.disclosure import check_threshold
    from stikprove.reports.text import check_language

    check_language(str(parameters.get("language", "da")))
    from stikprove.errors import did_you_mean

    unknown = [i for i in parameters.get("indicators") or () if i not in data.data.columns]
    if unknown:
        known = [c for c in ("too_ill", "misclassified", "no_effort") if c in data.data.columns]
        raise ReportError(
            f"indicator(s) {unknown} not in study {data.path.name}"
            f"{did_you_mean(unknown[0], known)}; expected columns of its analysis table, "
            f"e.g. {', '.join(known)}"
        )
    level = parameters.get("confidence_level")
    if level is not None and not (isinstance(level, (int, float)) and 0 < level < 1):
        hint = (f" (if {level:g} is a percentage, write {level / 100:g})"
                if isinstance(level, (int, float)) and 1 < level <= 100 else "")  # fmt: skip
        raise ReportError(
            f"confidence level must be between 0 and 1 (e.g. 0.95); got {level!r}{hint}"
        )
    method = parameters.get("interval_method")
    if method is not None and method not in (*DOMAIN_INTERVAL_METHODS, *DEPRECATED_METHOD_NAMES):
        raise ReportError(
            f"interval method must be one of {', '.join(DOMAIN_INTERVAL_METHODS)}; got {method!r}"
        )
    if parameters.get("disclosure_threshold") is not None:
        check_threshold(parameters["disclosure_threshold"])


def render_report(
    study: str | Path,
    kommune: str | None = None,
    out: str | Path = "reports",
    *,
    national: bool = False,
    engine: str = "reuse",
    notebook: str | Path | None = None,
    **parameters: object,
) -> RenderedReport:
    """Render one kommune's report (or, with ``national=True``, the national overview).

    ``stikprove.render_report("national.sqlite", "461", out="reports")`` writes
    reports/461.ipynb and reports/461.html and returns their :class:`RenderedReport`.

    ``parameters``: language ("da" or "en"), indicators, confidence_level, interval_method,
    disclosure_threshold (see the notebook's parameters cell). ``notebook``: the analyst's
    own notebook (a file or a folder, see :func:`own_notebooks`) instead of the shipped one.
    """
    from stikprove.reports.content import check_kommune, load_study

    kind = "national" if national else "kommune"
    own = own_notebooks(notebook, [kind]).get(kind)
    data = load_study(study)
    check_report_parameters(data, parameters)
    if national:
        return render_notebook("national", report_parameters(study, **parameters), out,
                               name="national", engine=engine, notebook=own)  # fmt: skip
    if kommune is None:
        raise ReportError("render_report: give a kommune code, or national=True")
    code = check_kommune(data, kommune)
    return render_notebook("kommune", report_parameters(study, code, **parameters), out,
                           engine=engine, notebook=own)  # fmt: skip


# ---- batches ---------------------------------------------------------------------------------

_SESSION: KernelSession | None = None


def _worker_start(cwd: str) -> None:
    from multiprocessing.util import Finalize

    global _SESSION
    _SESSION = KernelSession(cwd=cwd)
    Finalize(_SESSION, _SESSION.close, exitpriority=10)


def _worker_render(task: tuple) -> tuple[str, RenderedReport | None, str, float]:
    kind, parameters, out, name, engine, *own = task
    start = _SESSION.start_seconds if _SESSION is not None else 0.0
    try:
        report = render_notebook(kind, parameters, out, name=name, session=_SESSION,
                                 engine=engine, notebook=own[0] if own else None)  # fmt: skip
        return name, report, "", start
    except Exception as error:
        message = str(error) if isinstance(error, StikproveError) else _error_message(error)
        return name, None, message.removeprefix(f"{name}: "), start  # listed under its name


def _tasks(study, kommuner, national, out, engine, parameters, own=None) -> list[tuple]:
    own = {k: str(v) for k, v in (own or {}).items()}
    tasks = [("kommune", report_parameters(study, code, **parameters), str(out), code, engine,
              own.get("kommune")) for code in kommuner]  # fmt: skip
    if national:
        tasks.append(("national", report_parameters(study, **parameters), str(out),
                      "national", engine, own.get("national")))  # fmt: skip
    return tasks


def _run(tasks: list[tuple], jobs: int, out: Path, engine: str) -> Iterator[tuple]:
    if engine == "papermill" or jobs == 1:
        global _SESSION
        if engine == "reuse":
            _SESSION = KernelSession(cwd=out)
        try:
            for task in tasks:
                yield _worker_render(task)
        finally:
            if _SESSION is not None:
                _SESSION.close()
                _SESSION = None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # concurrent.futures rather than multiprocessing.Pool: a worker that cannot start (its
    # kernel fails, or the calling script cannot be re-imported) breaks the executor with an
    # error here, where Pool would start a new worker for ever and the batch would hang
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_start,
                                 initargs=(str(out),)) as pool:  # fmt: skip
            futures = [pool.submit(_worker_render, task) for task in tasks]
            for future in as_completed(futures):
                yield future.result()
    except BrokenProcessPool:
        raise ReportError(
            f"jobs={jobs}: a worker process could not start (see the messages above). Each "
            "worker re-imports the script that called render_reports: put the call under "
            "'if __name__ == \"__main__\":' in a script file (a script read from standard "
            "input cannot be re-imported), or use jobs=1"
        ) from None


def render_reports(
    study: str | Path,
    kommuner: Sequence[str] | None = None,
    out: str | Path = "reports",
    *,
    national: bool = False,
    jobs: int = 1,
    progress: bool = True,
    engine: str = "reuse",
    notebook: str | Path | None = None,
    **parameters: object,
) -> BatchResult:
    """Render the reports of several kommuner (all of the study's with ``kommuner=None``),
    and the national overview with ``national=True``, with ``jobs`` workers; then an
    index.html linking them. A report that fails is collected in ``failures`` (never
    raised); a worker process that cannot start at all raises :class:`ReportError` (with
    ``jobs`` > 1 each worker re-imports the calling script, which must then keep the call
    under ``if __name__ == "__main__":``). ``notebook``: the analyst's own notebook (a file
    or a folder, see :func:`own_notebooks`) instead of the shipped one."""
    from stikprove.reports.content import check_kommune, load_study

    if engine not in ENGINES:
        raise ReportError(f"engine must be one of {ENGINES}; got {engine!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ReportError(f"jobs must be a whole number ≥ 1; got {jobs!r}")
    kinds = [k for k, wanted in (("kommune", kommuner is None or bool(kommuner)),
                                 ("national", national)) if wanted]  # fmt: skip
    own = own_notebooks(notebook, kinds)
    data = load_study(study)
    check_report_parameters(data, parameters)
    codes = data.kommuner if kommuner is None else [check_kommune(data, k) for k in kommuner]
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tasks = _tasks(study, codes, national, out, engine, parameters, own)
    started = time.perf_counter()
    reports, failures, kernel_start = [], [], 0.0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), unit="report", desc="reports", leave=True)
    try:
        for name, report, message, start in _run(tasks, min(jobs, len(tasks) or 1), out, engine):
            kernel_start = max(kernel_start, start)
            if report is None:
                failures.append((name, message))
            else:
                reports.append(report)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    order = {t[3]: i for i, t in enumerate(tasks)}
    reports.sort(key=lambda r: order[r.name])
    failures.sort(key=lambda f: order[f[0]])
    language = str(parameters.get("language", "da"))
    index = write_index(out, reports, failures, language) if reports or failures else None
    return BatchResult(tuple(reports), tuple(failures), index,
                       time.perf_counter() - started, kernel_start)  # fmt: skip


def write_index(
    out: Path, reports: Sequence[RenderedReport], failures: Sequence[tuple[str, str]],
    language: str = "da",
) -> Path:
    """index.html: a link to every report in ``out`` (by kommune name), those of this batch
    and those an earlier run left there (NAME.html beside its NAME.ipynb, NAME a kommune
    code or "national": rerunning one kommune keeps the others listed), and this batch's
    failures."""
    from html import escape

    from stikprove.reports.content import kommune_name

    da = language == "da"
    title = ("Genvurdering af aktivitetsparate kontanthjælpsmodtagere: rapporter" if da
             else "Re-assessment of non-job-ready cash-benefit recipients: reports")  # fmt: skip
    failed_names = {name for name, _ in failures}
    names = [r.name for r in reports]
    earlier = sorted(
        path.stem for path in out.glob("*.html")
        if (path.stem == "national" or (path.stem.isdigit() and len(path.stem) == 3))
        and path.with_suffix(".ipynb").is_file() and path.stem not in names
        and path.stem not in failed_names
    )  # fmt: skip
    items = []
    for name in sorted([*names, *earlier], key=lambda n: (n == "national", n)):
        label = ("Hele landet" if da else "The whole country") if name == "national" \
            else f"{kommune_name(name)} ({name})"
        items.append(f'<li><a href="{escape(name)}.html">{escape(label)}</a></li>')
    failed = "".join(f"<li>{escape(n)}: {escape(m)}</li>" for n, m in failures)
    failed_head = "Fejlede" if da else "Failed"
    css = (TEMPLATES / "stikprove" / "stikprove.css").read_text(encoding="utf-8")
    body = (f"<!DOCTYPE html><html lang=\"{language}\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">"
            f"<title>{escape(title)}</title><style>{css}</style></head><body>"
            f"<main class=\"stikprove-page\"><h1>{escape(title)}</h1>"
            f"<ul class=\"stikprove-reports\">{''.join(items)}</ul>"
            + (f"<h2>{failed_head}</h2><ul class=\"stikprove-failed\">{failed}</ul>"
               if failures else "")
            + "</main></body></html>\n")  # fmt: skip
    path = out / "index.html"
    _write(path, body)
    return path
