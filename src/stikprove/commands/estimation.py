"""Commands of the estimation step: estimate, compare, agreement, simulate.

Each takes the analysis table (``stikprove export STUDY``, or the study store itself) and
prints a tidy table; ``--format csv`` and ``--out FILE`` write it for further use. Heavy
libraries load inside the handlers, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stikprove.commands import (
    METHOD_HELP,
    TABLE_FORMATS,
    confidence_level_argument,
    method_argument,
)
from stikprove.errors import EstimationError

if TYPE_CHECKING:
    import pandas as pd

METHODS_HELP = METHOD_HELP


def _source_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "source",
        metavar="TABLE",
        type=Path,
        help="the analysis table: a study store (.sqlite) or the CSV from 'stikprove export'",
    )


def _design_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strata", default="stratum", help="stratum column(s), comma-separated")
    p.add_argument("--population-size", default="population_size", help="column holding N_h")
    _level_arg(p)


def _level_arg(p: argparse.ArgumentParser) -> None:
    confidence_level_argument(p)


def _method_arg(p: argparse.ArgumentParser) -> None:
    method_argument(p)


def _disclosure_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--raw",
        action="store_true",
        help="no disclosure control: every count and proportion, for quality checks only; "
        "the output is marked NOT FOR PUBLICATION",
    )
    p.add_argument(
        "--disclosure-threshold",
        type=int,
        default=None,
        metavar="K",
        help="suppress counts under K (default: the study protocol's; 5 for an exported CSV)",
    )


def _output_args(p: argparse.ArgumentParser, disclosure: bool = True) -> None:
    p.add_argument("--format", choices=TABLE_FORMATS, default="table",
                   help="a readable table (default), CSV, Danish CSV (';' and decimal comma, "
                   "Danish headers) or xlsx (needs --out; percent format)")  # fmt: skip
    p.add_argument("--language", choices=("da", "en"), default="da",
                   help="headers of csv-da and xlsx output (default da)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="write to FILE instead of stdout")  # fmt: skip
    if disclosure:
        _disclosure_args(p)


def _small_area_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "small-area estimates (docs/small_area.md)",
        "--small-area: a model-based estimate with an MSE-based interval for every kommune "
        "of a study store (Fay-Herriot model across kommuner with covariates from the study "
        "population, chosen by the protocol's [small_area] covariates): the study's release "
        "publishes them (docs/release.md, model-based estimates), protected with every other "
        "number; --raw or any model option below prints the model's own figures, NOT FOR "
        "PUBLICATION",
    )
    g.add_argument("--small-area", action="store_true",
                   help="model-based estimates per kommune (needs --by kommune_code)")  # fmt: skip
    g.add_argument("--model", dest="small_area_model", choices=("arcsin", "linear"),
                   default="arcsin",
                   help="arcsine-transformed with a parametric bootstrap MSE, or linear with "
                   "the Prasad-Rao / Datta-Lahiri MSE (default arcsin)")  # fmt: skip
    g.add_argument("--fit", dest="fh_method", choices=("REML", "ML", "AMRL"), default="REML",
                   help="how the random-effect variance is fitted: REML, ML or AMRL (Li-Lahiri "
                   "adjusted REML, never 0; docs/small_area.md) (default REML)")  # fmt: skip
    g.add_argument("--bootstrap", type=int, default=200, metavar="B",
                   help="bootstrap replicates of the arcsin model's MSE (default 200)")  # fmt: skip
    g.add_argument("--seed", type=int, default=None,
                   help="seed of the bootstrap (default: the protocol's seed)")  # fmt: skip
    g.add_argument("--benchmark", choices=("ratio", "difference"), default=None,
                   help="adjust the kommune estimates so that their population-weighted mean "
                   "is the national direct estimate")  # fmt: skip
    g.add_argument("--min-n", type=int, default=30, metavar="N",
                   help="kommuner with fewer cases with an outcome take the generalised "
                   "variance function's variance (default 30)")  # fmt: skip
    g.add_argument("--mse", dest="mse", choices=("model", "conditional"), default="model",
                   help="the interval's MSE: the model's (Prasad-Rao, Datta-Lahiri or the "
                   "bootstrap), or with --model linear the larger of it and the MSE "
                   "conditional on the kommune (Rivest & Belmonte 2000; docs/small_area.md) "
                   "(default model)")  # fmt: skip


SMALL_AREA_DEFAULTS = {"small_area_model": "arcsin", "fh_method": "REML", "bootstrap": 200,
                       "seed": None, "benchmark": None, "min_n": 30, "mse": "model"}  # fmt: skip
"""The model options of ``--small-area`` at the release's own model: with these the command
prints the release's published figures."""


def run_small_area(args: argparse.Namespace) -> int:
    """``estimate --small-area``: the release's published model-based kommune figures (the
    same numbers as the reports); with ``--raw`` or another model, the model's own table,
    marked NOT FOR PUBLICATION."""
    from stikprove.estimation import StratifiedSample
    from stikprove.release.disclosure import NOT_FOR_PUBLICATION
    from stikprove.small_area import ZeroRandomEffectWarning, small_area_estimates
    from stikprove.store import open_study

    if not is_study_store(Path(args.source)):
        raise EstimationError(
            f"--small-area: {args.source} is not a study store; the model needs the study's "
            "whole population for its covariates (give the .sqlite file)"
        )
    if _columns(args.by) != ["kommune_code"]:
        raise EstimationError(
            f"--small-area: --by {args.by or '(none)'}: the model estimates per kommune; "
            "use --by kommune_code"
        )
    for option in ("categories", "bounds"):
        if getattr(args, option, False):
            raise EstimationError(f"--small-area: --{option} does not apply to the model")
    settings = command_settings(args)
    own = any(getattr(args, k, v) != v for k, v in SMALL_AREA_DEFAULTS.items())
    if not own and not getattr(args, "raw", False):
        return _published_small_area(args, settings)
    study = open_study(args.source)
    data = study.export()
    require_outcomes(data, args.outcome, args.source)
    protocol = study.protocol
    seed = protocol.seed if args.seed is None else args.seed
    sample = StratifiedSample(data, _columns(args.strata) or "stratum", args.population_size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ZeroRandomEffectWarning)
        result = small_area_estimates(
            sample, study.units(), args.outcome, covariates=protocol.small_area_covariates,
            model=args.small_area_model, method=args.fh_method, min_n=args.min_n,
            bootstrap=args.bootstrap, seed=seed, benchmark=args.benchmark,
            confidence_level=settings.confidence_level, mse=args.mse,
        )  # fmt: skip
    table = result.table.copy()
    table.insert(0, "publication", NOT_FOR_PUBLICATION)
    level = f"{100 * settings.confidence_level:g} %"
    notes = [
        "model-based (small-area) estimates as the model gives them, before the release's "
        "protection: for quality checks only",
        f"model: {result.describe()}",
        f"intervals: {level} ({settings.origin['confidence_level']}), MSE-based; national "
        f"direct estimate {result.national_direct:.4f}; variances of kommuner with fewer "
        f"than {args.min_n} cases or none from the GVF (pooled rate "
        f"{result.gvf.get('pooled_rate', float('nan')):.4f}, design effect "
        f"{result.gvf.get('deff', float('nan')):.3f})",
    ]
    notes += [f"WARNING: {w.message} (try --fit AMRL)" for w in caught
              if issubclass(w.category, ZeroRandomEffectWarning)]  # fmt: skip
    if result.dropped_covariates:
        notes.append("left out (constant over the kommuner): "
                     + ", ".join(result.dropped_covariates))  # fmt: skip
    _emit(table, args, None, notes)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "estimate",
        help="proportions per domain with design-based confidence intervals",
        description="Estimate an indicator (e.g. too_ill, misclassified, no_effort) per "
        "domain from a stratified sample: stratified SRSWOR estimator with the finite "
        "population correction; not assessable or not yet reviewed cases are dropped "
        "within their stratum. Columns: the --by columns, n, estimate, se, df, ci_low, "
        "ci_high, n_eff, deff (with --bounds also the worst/best-case bounds).",
    )
    _source_arg(p)
    p.add_argument("--outcome", required=True, help="0/1 indicator column, e.g. too_ill")
    p.add_argument("--by", default=None, help="domain columns, comma-separated (default: all)")
    _method_arg(p)
    p.add_argument(
        "--bounds",
        action="store_true",
        help="also worst/best-case estimates counting missing outcomes as 0 or 1, and "
        "n_missing: the eligible cases that could not be assessed or are not yet reviewed "
        "(cases found ineligible are outside the indicator, not missing)",
    )
    p.add_argument(
        "--categories",
        action="store_true",
        help="--outcome is a multi-category field: every category's proportion; a "
        "codebook field's categories come in codebook order, and its not-assessable codes "
        "(those the codebook's indicators count as missing, e.g. kan_ikke_vurderes) are "
        "dropped like a missing outcome",
    )
    p.add_argument(
        "--missing",
        default=None,
        metavar="CODES",
        help="with --categories: the codes that count as a missing outcome, comma-separated "
        "(default: from the codebook, that of the study store or the default one; '' for "
        "none)",
    )
    p.add_argument(
        "--degenerate-strata",
        choices=("standard", "conservative", "pooled"),
        default=None,
        help="variance of sampled strata with few events: 'standard' (as R survey), "
        "'conservative' (strata whose cases all agree add a term) or 'pooled' (strata with at "
        "most one event or non-event take the domain's rate; see docs/estimation.md); "
        "default: 'pooled' for --method pooled-hypergeometric, else 'standard'",
    )
    _small_area_args(p)
    _design_args(p)
    _output_args(p)
    p.set_defaults(func=run_estimate)

    p = subparsers.add_parser(
        "flag",
        help="which kommuner (or other domains) differ from the national rate",
        description="Estimate the indicator per domain (default: per kommune) and test each "
        "against the whole population's rate, counting the domain as part of it (design-"
        "based contrast, as R's svycontrast); p-values adjusted for the many domains with "
        "Benjamini-Hochberg. Domains with no usable sampling distribution (census, no or "
        "only events) are not tested.",
    )
    _source_arg(p)
    p.add_argument("--outcome", required=True, help="0/1 indicator column")
    p.add_argument("--by", default="kommune_code", help="domain columns (default kommune_code)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="level for 'flagged' (adjusted p-values; default 0.05)")  # fmt: skip
    _method_arg(p)
    p.add_argument(
        "--adjust",
        default="fdr_bh",
        help="p-value adjustment (a statsmodels multipletests method; default fdr_bh)",
    )
    _design_args(p)
    _output_args(p)
    p.set_defaults(func=run_flag)

    p = subparsers.add_parser(
        "compare",
        help="difference and ratio of two domains' proportions, or a Rao-Scott test",
        description="Compare an indicator between the groups of a column. With two groups: "
        "difference and ratio with intervals (Newcombe's hybrid score for groups in "
        "disjoint strata, design-based otherwise). With --test: the Rao-Scott corrected "
        "chi-square test of equal rates across all groups (as R's svychisq).",
    )
    _source_arg(p)
    p.add_argument("--outcome", required=True, help="0/1 indicator column")
    column = p.add_mutually_exclusive_group(required=True)
    column.add_argument("--by", default=None, help="the column whose groups are compared")
    column.add_argument("--domain", dest="by", help=argparse.SUPPRESS)  # old name of --by
    p.add_argument("--groups", default=None, metavar="A,B", help="the two groups (A minus B)")
    p.add_argument("--test", action="store_true", help="Rao-Scott test across all groups")
    p.add_argument("--method", default=None, metavar="METHOD",
                   help="interval method of each group's own interval (the difference has its "
                   "own: Newcombe or design-based); " + METHODS_HELP)  # fmt: skip
    _design_args(p)
    _output_args(p)
    p.set_defaults(func=run_compare)

    p = subparsers.add_parser(
        "agreement",
        help="agreement of the two reviewers of double-reviewed cases (Cohen's kappa)",
        description="Cohen's kappa with its confidence interval and the percent agreement "
        "for one codebook field, from the double-reviewed cases of a study store.",
    )
    p.add_argument("study", metavar="STUDY", type=Path, help="the study store")
    p.add_argument("--field", default="health_assessment",
                   help="codebook field to compare (default health_assessment)")  # fmt: skip
    _level_arg(p)
    _output_args(p, disclosure=False)
    p.set_defaults(func=run_agreement)

    p = subparsers.add_parser(
        "simulate",
        help="coverage of each interval method under a protocol's design",
        description="Simulate the protocol's design on its frame (stratum sizes and "
        "allocation as 'stikprove design' gives them, true rates = the anticipated rates) "
        "and report each method's empirical coverage and mean width per stratum, kommune "
        "and the whole study population: the default pooled-hypergeometric (docs/intervals.md) "
        "first, then korn-graubard (as R survey), logit, wald, wilson and hypergeometric.",
    )
    p.add_argument("protocol", metavar="PROTOCOL", type=Path, help="the study protocol (TOML)")
    p.add_argument("--replications", type=int, default=2000, metavar="N",
                   help="simulated samples (default 2000)")  # fmt: skip
    p.add_argument("--seed", type=int, default=None, help="default: the protocol's seed")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="true rate in every stratum (default: the protocol's anticipated)",
    )
    p.add_argument("--domains", choices=("all", "strata", "kommuner"), default="all",
                   help="which domains to report (default: all)")  # fmt: skip
    _output_args(p, disclosure=False)  # coverage and widths: no count to suppress
    p.set_defaults(func=run_simulate)


def read_analysis_table(path: Path) -> pd.DataFrame:
    """The analysis table from a study store (its export) or from an exported CSV."""
    import pandas as pd

    from stikprove.store import SQLITE_MAGIC, open_study

    if path.is_dir():
        raise EstimationError(
            f"analysis table {path}: is a folder, expected a study store (.sqlite) or a CSV file"
        )
    if not path.is_file():
        raise EstimationError(f"analysis table {path}: no such file")
    with path.open("rb") as handle:
        magic = handle.read(len(SQLITE_MAGIC))
    if magic == SQLITE_MAGIC:
        return open_study(path).export()
    from stikprove.frame import refuse_cpr

    text_columns = {"case_id": str, "stratum": str, "kommune_code": str}
    try:
        table = pd.read_csv(path, dtype=text_columns, keep_default_na=True)
        refuse_cpr(table, f"analysis table {path}")
        return table
    except pd.errors.EmptyDataError:
        raise EstimationError(f"analysis table {path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        reason = " ".join(str(error).split())  # pandas' message may span lines
        raise EstimationError(f"analysis table {path}: not a readable CSV ({reason})") from None


def _published_small_area(args: argparse.Namespace, settings) -> int:
    """The release's ``small_area`` rows of the outcome (protected: the reports' numbers)."""
    from stikprove.release.release import published_small_area, study_release

    release = study_release(args.source, settings.threshold, settings.confidence_level,
                            settings.method)  # fmt: skip
    table = published_small_area(release, args.outcome)
    notes = [
        "model-based (small-area) estimates as the study's release publishes them "
        "(docs/release.md): basis eblup = the model-based estimate, eblup_1pp = the same "
        "rounded to 1 percentage point, synthetic = the covariates' prediction (published "
        "where the EBLUP could reveal a hidden count); direct = the release's direct estimate",
        f"model: {release.small_area.figures[args.outcome].describe}",
    ]
    _emit(table, args, settings, notes)
    return 0


def _columns(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def _is_count(name: object) -> bool:
    """Columns holding whole numbers (counts, degrees of freedom), whatever their dtype."""
    name = str(name)
    return name != "n_eff" and (name in ("n", "df") or name.startswith(("n_", "df_")))


def _shown(name: object, value: object) -> str:
    """A value as printed: counts whole, tiny p-values in scientific notation, else 4
    decimals (so 4956.0 reads 4956 and p = 3e-12 does not read 0.0000)."""
    if not isinstance(value, float) or value != value:
        return str(value)
    if _is_count(name) and value.is_integer():
        return str(int(value))
    if str(name).startswith("p_") and 0 < value < 1e-4:
        return f"{value:.1e}"
    return f"{value:.4f}"


@dataclass(frozen=True)
class Settings:
    """The confidence level, interval method and disclosure threshold a command uses: the
    study protocol's (``Study.protocol``), each overridden by its option when given."""

    confidence_level: float
    method: str
    threshold: int
    origin: dict[str, str]
    """setting -> where it came from: the option's name, "the study protocol's" or "the
    default" (an exported CSV carries no protocol)."""

    def caption(self) -> str:
        """One line naming the level, method and threshold of a table and their origin."""
        level = f"{100 * self.confidence_level:g} %"
        return (
            f"intervals: {level} confidence level ({self.origin['confidence_level']}), "
            f"method {self.method} ({self.origin['method']}); counts under {self.threshold} "
            f"suppressed ({self.origin['threshold']})"
        )


_OPTIONS = {"confidence_level": "--confidence-level", "method": "--method",
            "threshold": "--disclosure-threshold"}  # fmt: skip


def is_study_store(path: Path) -> bool:
    """Whether ``path`` is an SQLite file (a study store), not a CSV."""
    from stikprove.store import SQLITE_MAGIC

    if not Path(path).is_file():
        return False
    with Path(path).open("rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def command_settings(args: argparse.Namespace, source: Path | None = None) -> Settings:
    """The settings of a command reading ``source`` (default ``args.source``): the study
    protocol's for a study store, the protocol defaults for an exported CSV; an option given
    (``--confidence-level``, ``--method``, ``--disclosure-threshold``) overrides."""
    from stikprove.estimation.intervals import check_confidence_level
    from stikprove.protocol import setting_default
    from stikprove.release.disclosure import check_threshold

    source = getattr(args, "source", None) if source is None else source
    if source is not None and is_study_store(Path(source)):
        from stikprove.store import open_study

        protocol = open_study(source).protocol  # the one reader of the stored settings
        stored = (protocol.confidence_level, protocol.interval_method,
                  protocol.disclosure_threshold)  # fmt: skip
        where = "the study protocol's"
    else:  # an exported CSV carries no protocol: the protocol module's defaults
        stored = (setting_default("precision", "confidence_level"),
                  setting_default("precision", "interval_method"),
                  setting_default("review", "disclosure_threshold"))  # fmt: skip
        where = "the default"
    stored_level, stored_method, stored_threshold = stored
    given = {
        "confidence_level": getattr(args, "confidence_level", None),
        "method": getattr(args, "method", None),
        "threshold": getattr(args, "disclosure_threshold", None),
    }
    level = given["confidence_level"]
    if level is not None and not 0 < level < 1:
        hint = f" (if {level:g} is a percentage, write {level / 100:g})" if 1 < level <= 100 else ""
        raise EstimationError(
            f"--confidence-level {level:g}: expected a number between 0 and 1, e.g. 0.95{hint}"
        )
    threshold = given["threshold"]
    if threshold is not None and threshold < 1:
        raise EstimationError(f"--disclosure-threshold {threshold}: expected a whole number ≥ 1")
    return Settings(
        confidence_level=check_confidence_level(stored_level if level is None else level),
        method=stored_method if given["method"] is None else given["method"],
        threshold=check_threshold(stored_threshold if threshold is None else threshold),
        origin={k: where if v is None else _OPTIONS[k] for k, v in given.items()},
    )


def _threshold(args: argparse.Namespace) -> int:
    """--disclosure-threshold, else the study store's protocol's, else the default 5."""
    return command_settings(args).threshold


def _disclosed(table: pd.DataFrame, by: list[str] | None, args: argparse.Namespace,
               settings: Settings):  # fmt: skip
    """The table as it may leave the package: disclosed, or raw and marked (--raw). The
    NCHS verdict is the same whatever ``--method`` (``disclose_estimates``)."""
    from stikprove.release.disclosure import disclose_estimates, mark_raw

    if args.raw:
        return mark_raw(table)
    return disclose_estimates(table, by, settings.threshold,
                              confidence_level=settings.confidence_level)  # fmt: skip


def _with_settings(table: pd.DataFrame, settings: Settings | None) -> pd.DataFrame:
    """The table with the level and method of its intervals as columns (for files, which
    carry no caption), before a ``publication`` mark."""
    if settings is None:
        return table
    out = table.drop(columns="publication", errors="ignore").assign(
        confidence_level=settings.confidence_level, method=settings.method
    )
    if "publication" in table.columns:
        out["publication"] = table["publication"]
    return out


def _emit(table: pd.DataFrame, args: argparse.Namespace, settings: Settings | None = None,
          notes: list[str] | None = None) -> None:  # fmt: skip
    """Write a result table as ``--format`` asks, to stdout or ``--out``. With ``settings``
    the readable table is captioned with its level, method and threshold, and files carry
    the level and method as columns. ``notes`` follow the caption (on stderr beside a
    file or CSV)."""
    notes = notes or []
    from stikprove.release.disclosure import NOT_FOR_PUBLICATION
    from stikprove.reports.tables import danish_csv_text, plain_csv_text, write_table

    fmt = args.format
    threshold = settings.threshold if settings is not None else _threshold(args)
    if args.out is not None and fmt == "table":
        fmt = {".csv": "csv", ".xlsx": "xlsx"}.get(args.out.suffix.lower(), "table")
    if fmt == "xlsx":
        if args.out is None:
            raise EstimationError("--format xlsx: give the file with --out FILE.xlsx")
        write_table(_with_settings(table, settings), args.out, "xlsx",
                    getattr(args, "language", "da"),
                    threshold=threshold)  # fmt: skip
        if notes:
            print("\n".join(notes), file=sys.stderr)
        print(f"wrote {len(table)} rows to {args.out}", file=sys.stderr)
        return
    if fmt == "csv":
        text = plain_csv_text(_with_settings(table, settings))
    elif fmt == "csv-da":
        # for Excel: 6 decimals (a proportion to 0.0001 %), not 17-digit floats
        text = danish_csv_text(_with_settings(table, settings).round(6),
                               getattr(args, "language", "da"), threshold)  # fmt: skip
    else:
        formatters = {
            c: (lambda v, c=c: _shown(c, v))
            for c in table.columns
            if table[c].dtype.kind == "f" and (_is_count(c) or str(c).startswith("p_"))
        }
        lines = []
        if "publication" in table.columns:
            lines.append(NOT_FOR_PUBLICATION)
            table = table.drop(columns="publication")
        if settings is not None:
            lines.append(settings.caption())
        lines += notes
        lines.append(
            table.to_string(index=False, float_format=lambda v: f"{v:.4f}", formatters=formatters)
        )
        lines += _legend(table, threshold)
        text = "\n".join(lines) + "\n"
    if fmt != "table" and notes:
        print("\n".join(notes), file=sys.stderr)
    if args.out is None:
        sys.stdout.write(text)
        return
    from stikprove.files import atomic_write

    encoding = "utf-8-sig" if fmt == "csv-da" else "utf-8"
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(text, encoding=encoding))
    print(f"wrote {len(table)} rows to {args.out}", file=sys.stderr)


def _legend(table: pd.DataFrame, threshold: int) -> list[str]:
    """Under a readable table: what each disclosure code in it means (docs/glossary.md)."""
    if "disclosure" not in table.columns:
        return []
    from stikprove.reports.text import disclosure_notes

    codes = sorted({c for cell in table["disclosure"].fillna("") for c in str(cell).split(",")
                    if c})  # fmt: skip
    lines = [f"  {code}: {' '.join(disclosure_notes(code, 'en', threshold))}" for code in codes]
    return ["disclosure codes (docs/glossary.md):", *lines] if lines else []


def write_result(table: pd.DataFrame, args: argparse.Namespace) -> None:
    """Write a result table as ``--format`` and ``--out`` ask (for the other commands)."""
    _emit(table, args)


def _check_grouping(data: pd.DataFrame, by: list[str] | None, args: argparse.Namespace) -> None:
    """Refuse a grouping by an identifying column (raw or not): it would list cases."""
    from stikprove.release.disclosure import check_grouping

    check_grouping(data, by or [], _threshold(args))


def _is_release_source(args: argparse.Namespace, data: pd.DataFrame) -> bool:
    """A study store, or a table exported from one analysed with its own design columns: its
    estimates are cells of the study's release. Any other table (other strata or population
    columns, another variance rule) is disclosed on its own."""
    return (getattr(args, "strata", "stratum") == "stratum"
            and getattr(args, "population_size", "population_size") == "population_size"
            and getattr(args, "degenerate_strata", None) is None
            and (is_study_store(Path(args.source))
                 or {"stratum", "kommune_code", "population_size"} <= set(data.columns)))


def _release(args: argparse.Namespace, data: pd.DataFrame, settings):
    """The protected release the command reads, at the command's settings (the protocol's
    threshold, level and method unless given): the study store's, or that of an exported
    analysis table."""
    from stikprove.release.release import analysis_release, study_release

    level, method = settings.confidence_level, settings.method
    if is_study_store(Path(args.source)):
        return study_release(args.source, settings.threshold, level, method)
    return analysis_release(data, threshold=settings.threshold, confidence_level=level,
                            interval_method=method)


def _published(args: argparse.Namespace, data: pd.DataFrame, by: list[str] | None, settings):
    """``estimate``'s table as the release publishes it (with ``--bounds``, the release's
    nonresponse bounds of the kommuner or the nation beside it)."""
    from stikprove.release.release import published_estimates

    release = _release(args, data, settings)
    table = published_estimates(release, args.outcome, by)
    if not args.bounds:
        return table
    if by not in (None, [], ["kommune_code"]):
        raise EstimationError(
            "--bounds: the release publishes the nonresponse bounds of each kommune and of the "
            "whole study: use --by kommune_code or no --by"
        )
    bounds = release.table("bounds")
    from stikprove.release.build import published_level

    level = "kommune" if by else published_level(release.raw_tables, "nation")
    bounds = bounds[bounds["indicator"].eq(args.outcome) & bounds["level"].eq(level)]
    bounds = bounds.assign(kommune_code=bounds["kommune_code"].astype(str))
    extra = ["n_missing", "estimate_missing_as_0", "estimate_missing_as_1"]
    bounds = bounds.rename(columns={"disclosure": "disclosure_bounds"})
    if by:
        table = table.merge(bounds[["kommune_code", *extra, "disclosure_bounds"]],
                            on="kommune_code", how="left")  # fmt: skip
    else:
        table = table.assign(**{c: bounds[c].to_numpy() for c in [*extra, "disclosure_bounds"]})
    table["disclosure"] = [
        ",".join(sorted({*str(a).split(","), *str(b).split(",")} - {"", "nan"}))
        for a, b in zip(table["disclosure"], table.pop("disclosure_bounds"), strict=True)
    ]
    return table[[c for c in table.columns if c != "disclosure"] + ["disclosure"]]


def run_estimate(args: argparse.Namespace) -> int:
    from stikprove.estimation.domains import (
        estimate_categories,
        estimate_proportions,
        outcome_bounds,
    )
    from stikprove.estimation.partial import partial_coverage

    if args.small_area:
        return run_small_area(args)
    settings = command_settings(args)
    data = read_analysis_table(args.source)
    require_outcomes(data, args.outcome, args.source)
    design = {
        "strata": _columns(args.strata),
        "population_size": args.population_size,
        "by": _columns(args.by),
        "confidence_level": settings.confidence_level,
        "method": settings.method,
        "degenerate_strata": args.degenerate_strata,
    }
    notes: list[str] = []
    _check_grouping(data, design["by"], args)
    if args.categories:
        categories, missing = _category_codes(args.source, args.outcome, data, args.missing)
        table = estimate_categories(
            data, args.outcome, **design, categories=categories, missing_values=missing
        )
        _emit(_disclosed(table, None, args, settings), args, settings)
    elif args.raw or not _is_release_source(args, data):
        # raw (marked), or a table no release holds (other design columns): disclosed alone
        table = estimate_proportions(data, args.outcome, **design)
        coverage = partial_coverage(data, args.outcome, design["strata"],
                                    design["population_size"], design["by"])  # fmt: skip
        notes = partial_notes(coverage, design["by"] or [], args.source)
        if args.bounds or notes:
            scope = _indicator_scope(args.source, data, args.outcome)
            bounds = outcome_bounds(data, args.outcome, **design, in_scope=scope)
            keys = [c for c in (design["by"] or []) if c in bounds.columns]
            extra = [c for c in bounds.columns if c not in table.columns or c in keys]
            table = table.merge(bounds[extra], on=keys) if keys else table.join(bounds[extra])
        if notes:  # label each estimate with the share of its domain it covers
            keys = design["by"] or []
            share = coverage[[*keys, "population_share_covered"]]
            table = (table.merge(share, on=keys, how="left") if keys
                     else table.assign(population_share_covered=share.iloc[0, -1]))  # fmt: skip
        _emit(_disclosed(table, None, args, settings), args, settings, notes)
    else:
        coverage = partial_coverage(data, args.outcome, design["strata"],
                                    design["population_size"], design["by"])  # fmt: skip
        notes = partial_notes(coverage, design["by"] or [], args.source)
        _emit(_published(args, data, design["by"], settings), args, settings, notes)
    if "reviewed" in data.columns and not data["reviewed"].astype(bool).all():
        _stopped_early_note(args.source)  # a stratum can only stop early with cases left
    return 0


def _indicator_scope(source: Path, data: pd.DataFrame, outcome: str):
    """For ``estimate --bounds``: which cases are in the indicator's population (the study's
    codebook, or the default one for an exported CSV: eligible, and health-exempt where the
    indicator asks), so that cases found ineligible are not counted as missing; None when the
    table has no ``eligible`` column or ``outcome`` is not an indicator (every case counts)."""
    from stikprove.codebook import default_codebook
    from stikprove.store import open_study

    if "eligible" not in data.columns:
        return None
    codebook = open_study(source).codebook if is_study_store(source) else default_codebook()
    if outcome not in {i.name for i in codebook.indicators}:
        return None
    exempt = data["health_exempt"] if "health_exempt" in data.columns else None
    return codebook.indicator_scope(outcome, data, exempt).to_numpy(dtype=bool)


def require_outcomes(data: pd.DataFrame, outcome: str, source: Path) -> None:
    """Refuse an estimate of ``outcome`` when no case has one yet (no review entered),
    naming the next command; an unknown outcome is named with the closest column."""
    import difflib

    if outcome not in data.columns:
        indicators = [c for c in ("too_ill", "misclassified", "no_effort") if c in data.columns]
        close = difflib.get_close_matches(outcome, [*indicators, *map(str, data.columns)], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        known = indicators or list(map(str, data.columns))
        what = "the indicators are" if indicators else "the columns are"
        raise EstimationError(
            f"--outcome {outcome!r}: not a column of {source}; {hint}{what} {', '.join(known)}"
        )
    if data[outcome].notna().any():
        return
    reviewed = "reviewed" in data.columns and data["reviewed"].astype(bool).any()
    if reviewed:
        why = "no reviewed case has an outcome yet (all ineligible or not assessable)"
    else:
        why = "no case is reviewed yet"
    raise EstimationError(
        f"{source}: nothing to estimate for {outcome!r}: {why}. The review comes first: "
        f"'stikprove worklist STUDY --reviewer NAME --out NAME.xlsx', then 'stikprove import "
        f"STUDY NAME.xlsx --reviewer NAME' (or 'stikprove serve STUDY' for the web form); "
        f"'stikprove status STUDY' shows the progress"
    )


def partial_notes(coverage: pd.DataFrame, by: list[str], source: Path) -> list[str]:
    """Lines saying plainly that estimates cover only the strata with a reviewed case, when
    some stratum of a domain has none (docs/interim.md); none when every stratum has one."""
    without = coverage["strata_without_outcome"].astype(int)
    if not (without > 0).any():
        return []
    uncovered = sorted({s for text in coverage["strata_not_covered"] for s in text.split(", ")
                        if s})  # fmt: skip
    empty = coverage[coverage["population_share_covered"] == 0]
    lines = [
        f"PARTIAL: {len(uncovered)} stratum/strata have no case with an outcome yet, so each "
        "estimate covers only the strata of its domain that have one: "
        "population_share_covered is their share of the domain's population, and "
        "estimate_missing_as_0 and estimate_missing_as_1 are the domain's worst and best case "
        "(every case in scope without an outcome, reviewed or not, counted as 0 or as 1).",
        "  strata without an outcome: " + _listed(uncovered),
    ]
    if len(empty) and by:
        names = [", ".join(f"{c}={row[c]}" for c in by) for _, row in empty.iterrows()]
        lines.append("  no estimate at all for: " + _listed(names))
    study = source if is_study_store(Path(source)) else "STUDY"
    lines.append(f"  progress per stratum: stikprove status {study} --interim (docs/interim.md)")
    return lines


def _listed(names: list[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def stopped_early(plan: pd.DataFrame) -> list[str]:
    """Lines naming the strata of a stopping plan (:func:`stikprove.stopping_plan`) that met
    their precision targets before all their sampled cases were reviewed, with the reason."""
    early = plan[plan["safe_to_stop"].astype(bool) & ~plan["complete"].astype(bool)]
    return [f"  {row.stratum}: {int(row.in_run)} of {int(row.sample_size)} sampled cases "
            f"analysed; {row.reason}" for row in early.itertuples()]  # fmt: skip


def _stopped_early_note(source: Path) -> None:
    """On stderr (the table on stdout stays as it is): which strata of a study store stopped
    early, when any did; nothing for an exported CSV or a study without such strata."""
    from stikprove.estimation.interim import stopping_plan
    from stikprove.store import SQLITE_MAGIC, open_study

    with source.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            return
    study = open_study(source)
    try:
        plan = stopping_plan(study)
    except EstimationError:
        return
    lines = stopped_early(plan)
    if lines:
        print(f"{len(lines)} stratum/strata stopped early (precision target met before every "
              "sampled case was reviewed; the confidence sequences stay valid, the estimates "
              "above use the cases reviewed):", file=sys.stderr)
        print("\n".join(lines), file=sys.stderr)


def _category_codes(
    source: Path, field: str, data: pd.DataFrame, missing_arg: str | None
) -> tuple[list[str] | None, list[str]]:
    """Categories (codebook order) and missing codes of ``field`` for ``estimate --categories``.

    From the study store's codebook (the default codebook for an exported CSV): the codes
    that its indicators on ``field`` count as missing (``kan_ikke_vurderes``) are missing,
    the other codes are the categories. A column that is not a codebook choice field, or
    holds values its codebook does not know, keeps the observed values as categories.
    """
    from stikprove.codebook import default_codebook
    from stikprove.store import SQLITE_MAGIC, open_study

    with source.open("rb") as handle:
        is_store = handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    codebook = open_study(source).codebook if is_store else default_codebook()
    spec = next((f for f in codebook.fields if f.name == field and f.codes), None)
    if missing_arg is not None:
        missing = _columns(missing_arg) or []
    elif spec is None:
        missing = []
    else:
        missing = sorted({c for i in codebook.indicators if i.field == field for c in i.missing})
    if spec is None or field not in data.columns:
        return None, missing
    observed = {str(v) for v in data[field].dropna().unique()}
    if not observed <= set(spec.codes):
        return None, missing
    return [c for c in spec.codes if c not in missing], missing


def run_flag(args: argparse.Namespace) -> int:
    from stikprove.estimation.domains import estimate_proportions
    from stikprove.estimation.linearization import domain_linearization
    from stikprove.estimation.multiplicity import flag_differences

    settings = command_settings(args)
    data = read_analysis_table(args.source)
    strata, by = _columns(args.strata), _columns(args.by)
    _check_grouping(data, by, args)
    if not args.raw and _is_release_source(args, data):
        from stikprove.release.release import published_flags

        if by != ["kommune_code"] or args.alpha != 0.05 or args.adjust != "fdr_bh":
            raise EstimationError(
                "flag: the release flags each kommune (--by kommune_code) at alpha 0.05 with "
                "Benjamini-Hochberg (--adjust fdr_bh), the flags every report shows; other "
                "choices are for quality checks: add --raw (NOT FOR PUBLICATION)"
            )
        _emit(published_flags(_release(args, data, settings), args.outcome), args, settings)
        return 0
    estimates = estimate_proportions(
        data, args.outcome, strata, args.population_size, by=by,
        confidence_level=settings.confidence_level, method=settings.method,
    )  # fmt: skip
    design = domain_linearization(data, args.outcome, strata, args.population_size, by=by)
    table = flag_differences(estimates, design=design, alpha=args.alpha, adjust=args.adjust)
    _emit(_disclosed(table, by, args, settings), args, settings)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from stikprove.estimation.comparison import compare_proportions, rao_scott_test

    if args.by is None:
        raise EstimationError("--by is required: the column whose groups are compared")
    settings = command_settings(args)
    data = read_analysis_table(args.source)
    strata = _columns(args.strata)
    if args.test:  # a statistic and a p-value: no count to suppress (docs/reports.md)
        result = rao_scott_test(data, args.outcome, strata, args.population_size, args.by)
        _emit_row(result.to_frame(), args)
        return 0
    groups = None
    if args.groups is not None:
        parts = _columns(args.groups) or []
        if len(parts) != 2:
            raise EstimationError(f"--groups {args.groups!r}: expected two groups as A,B")
        groups = _matching_groups(data, args.by, parts)
    result = compare_proportions(
        data, args.outcome, strata, args.population_size, args.by,
        settings.confidence_level, groups=groups, interval_method=settings.method,
    )  # fmt: skip
    import pandas as pd

    from stikprove.release.disclosure import disclose_comparison, mark_raw

    if args.raw:
        _emit_row(mark_raw(result.to_frame()), args)
        return 0
    row = disclose_comparison(result.to_frame(), settings.threshold)
    if not _is_release_source(args, data):
        _emit_row(row, args)
        return 0
    if args.by not in ("sex", "origin", "kommune_code", "region"):
        raise EstimationError(
            f"compare --by {args.by}: the release publishes groups of sex, origin, kommune_code "
            "and region; add --raw (NOT FOR PUBLICATION) for others"
        )
    from stikprove.release.release import published_estimates

    shown = published_estimates(_release(args, data, settings), args.outcome, [args.by])
    mine = shown[shown[args.by].astype(str).isin([str(result.first), str(result.second)])]
    protected = mine["disclosure"].str.contains("small|complementary", regex=True).any()
    if (protected or len(mine) < 2) and row["disclosure"].iloc[0] == "":
        keep = {"first", "second", "method", "confidence_level", "interval_method"}
        for column in row.columns:
            if column not in keep and column != "disclosure":
                row[column] = pd.Series([None] * len(row), dtype=object)
        row["disclosure"] = "complementary"
    _emit_row(row, args)
    return 0


def _emit_row(row: pd.DataFrame, args: argparse.Namespace) -> None:
    """A one-row result: 'name  value' lines by default (a raw one under the not-for-
    publication line), else as the one-row table of ``--format`` (:func:`_emit`)."""
    fmt = args.format
    if args.out is not None and fmt == "table":
        fmt = {".csv": "csv", ".xlsx": "xlsx"}.get(args.out.suffix.lower(), "table")
    if fmt != "table":
        _emit(row, args)
        return
    from stikprove.release.disclosure import NOT_FOR_PUBLICATION

    lines = []
    if "publication" in row.columns:
        lines.append(NOT_FOR_PUBLICATION)
        row = row.drop(columns="publication")
    lines += _row_lines(row.iloc[0])
    text = "\n".join(lines) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return
    from stikprove.files import atomic_write

    atomic_write(args.out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    print(f"wrote 1 row to {args.out}", file=sys.stderr)


def _matching_groups(data: pd.DataFrame, column: str, parts: list[str]) -> tuple:
    """The command line gives text; match it to the column's values (e.g. 461 vs '461')."""
    if column not in data.columns:
        raise EstimationError(f"--by {column!r}: not a column of the analysis table")
    values = {str(v): v for v in data[column].dropna().unique()}
    missing = [p for p in parts if p not in values]
    if missing:
        raise EstimationError(
            f"--groups: {missing} not values of {column!r}; expected some of {sorted(values)}"
        )
    return (values[parts[0]], values[parts[1]])


def run_agreement(args: argparse.Namespace) -> int:
    from stikprove.estimation.agreement import reviewer_agreement
    from stikprove.store import open_study

    study = open_study(args.study)
    pairs = study.export_double_reviews()
    first, second = f"{args.field}_1", f"{args.field}_2"
    if first not in pairs.columns:
        fields = [f.name for f in study.codebook.fields if f.codes and f"{f.name}_1" in pairs]
        why = (
            "free text, which never leaves the study store"
            if args.field in study.codebook.field_names
            else "not a codebook field of this study"
        )
        raise EstimationError(f"--field {args.field!r}: {why}; expected one of {', '.join(fields)}")
    both = pairs[pairs["reviewed_1"] & pairs["reviewed_2"]]
    if both.empty:
        raise EstimationError(
            f"{args.study}: no double-reviewed case has both reviews yet "
            f"({len(pairs)} cases are assigned a second reviewer)"
        )
    settings = command_settings(args, args.study)
    if args.field == "health_assessment":  # the agreement every report shows: the release's
        from stikprove.release.build import published_level
        from stikprove.release.release import study_release

        release = study_release(args.study, settings.threshold, settings.confidence_level)
        table = release.table("agreement")
        level = published_level(release.raw_tables, "nation")
        row = table[table["level"].eq(level)].head(1)  # one kommune: its row is the study's
        if row.empty:
            row = table.head(1)
        row = row.drop(columns=["level", "kommune_code"]).reset_index(drop=True)
    else:
        result = reviewer_agreement(both[first], both[second],
                                    confidence_level=settings.confidence_level)  # fmt: skip
        row = result.to_frame()
        agree = round(result.percent_agreement * result.n_pairs / 100)
        counts = (result.n_pairs, agree, result.n_pairs - agree)
        if any(1 <= c < settings.threshold for c in counts):
            row = row[["n_pairs"]].astype(object).assign(n_pairs=None, disclosure="small")
    fmt = args.format
    if args.out is not None and fmt == "table":
        fmt = {".csv": "csv", ".xlsx": "xlsx"}.get(args.out.suffix.lower(), "table")
    if fmt != "table" or args.out is not None:
        _emit(row, args)
        return 0
    print(f"confidence level {100 * settings.confidence_level:g} % "
          f"({settings.origin['confidence_level']})")  # fmt: skip
    _print_row(row.iloc[0])
    return 0


def _print_result(result: object) -> None:
    """A one-row result (comparison, test, agreement) as 'name  value' lines."""
    _print_row(result.to_frame().iloc[0])  # type: ignore[attr-defined]


def _print_row(row: pd.Series) -> None:
    print("\n".join(_row_lines(row)))


def _row_lines(row: pd.Series) -> list[str]:
    width = max(len(str(k)) for k in row.index)
    lines = []
    for key, value in row.items():
        shown = _shown(key, value)
        if key == "disclosure":
            shown = shown or "shown (no suppression)"
        elif value is None or (isinstance(value, float) and value != value):
            shown = "suppressed" if row.get("disclosure") else shown
        lines.append(f"{key!s:<{width}}  {shown}")
    return lines


def run_simulate(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from stikprove.design import design_table
    from stikprove.estimation.coverage import simulate_coverage
    from stikprove.protocol import load_protocol, load_study_frame

    protocol = load_protocol(args.protocol)
    design = design_table(protocol, load_study_frame(protocol))
    strata = design.strata
    keys = strata["stratum"].astype(str)
    if args.rate is not None:
        rates = np.full(len(strata), args.rate)
    elif "anticipated" in strata.columns:
        rates = strata["anticipated"].to_numpy(dtype=float)
    else:
        rates = np.full(len(strata), float(protocol.anticipated))
    domains: dict[str, list[str]] = {}
    if args.domains in ("all", "strata"):
        domains.update({k: [k] for k in keys})
    if args.domains in ("all", "kommuner") and "kommune_code" in strata.columns:
        for code, group in strata.groupby("kommune_code", sort=True):
            domains[f"kommune {code}"] = group["stratum"].astype(str).tolist()
    if args.domains == "all" or not domains:
        domains["all"] = keys.tolist()
    table = simulate_coverage(
        pd.Series(strata["population_size"].to_numpy(), index=keys),
        pd.Series(strata["sample_size"].to_numpy(), index=keys),
        pd.Series(rates, index=keys),
        domains=domains,
        confidence_level=protocol.confidence_level,
        replications=args.replications,
        seed=protocol.seed if args.seed is None else args.seed,
    )
    _emit(table, args)
    return 0
