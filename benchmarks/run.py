"""Run every benchmark: each ``benchmarks/bench_*.py`` module's ``main()``, in name order.

    python benchmarks/run.py            # all benchmarks (``make bench`` does this)
    python benchmarks/run.py estimation # only modules whose name contains "estimation"

A module's ``main()`` prints its own table and may return a dict of figures, which is printed
at the end. A module that fails to import or raises is reported and the others still run; the
exit status is 1 if any failed (a benchmark is not a test: slow figures never fail the run).
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _flat(result: dict, prefix: str = "") -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    for key, value in result.items():
        if isinstance(value, dict):
            items += _flat(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmark modules; return 0, or 1 if any of them failed."""
    selected = sys.argv[1:] if argv is None else argv
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    paths = sorted(HERE.glob("bench_*.py"))
    if selected:
        paths = [p for p in paths if any(word in p.stem for word in selected)]
    if not paths:
        print(f"no benchmark modules matched {selected!r} in {HERE}")
        return 1
    figures: dict[str, object] = {}
    failed: list[str] = []
    for path in paths:
        print(f"\n=== {path.stem} ===")
        start = time.perf_counter()
        try:
            module = _load(path)
            entry = getattr(module, "main", None)
            if entry is None:
                print(f"skip {path.stem}: no main()")
                continue
            result = entry()
        except Exception:
            traceback.print_exc()
            failed.append(path.stem)
            continue
        print(f"({path.stem} took {time.perf_counter() - start:.1f} s)")
        if isinstance(result, dict):
            figures[path.stem] = result

    print("\n=== summary ===")
    for name, result in figures.items():
        for key, value in _flat(result):
            shown = f"{value:.4g}" if isinstance(value, float) else value
            print(f"{name}.{key}: {shown}")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
