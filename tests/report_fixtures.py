"""A tiny national-template study for the report tests: two kommuner (Læsø 825, Frederiksberg
147) at a small scale, drawn, assigned to two reviewers and fully reviewed from the synthetic
truth, every review with a note that must never reach a report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TEMPLATE = Path(__file__).resolve().parents[1] / "protocols" / "national-template.toml"
NOTE = "FORTROLIG-NOTE-{}"
"""Note text per case (with its case id): scanned for in every output."""


def make_report_study(folder: Path, reviews: int | None = None, *,
                      kommuner: tuple[str, ...] = ("825", "147"),
                      max_reviews: int = 120) -> tuple[Path, pd.DataFrame]:  # fmt: skip
    """The study store and the synthetic frame it was drawn from; with ``reviews``, a study
    still open: each reviewer imports only the first ``reviews`` cases of their worklist.
    ``kommuner`` and ``max_reviews`` (the protocol's review budget) make a larger study."""
    from stikprove.assignment import assign_reviewers
    from stikprove.protocol import load_protocol, load_study_frame
    from stikprove.recording import import_entries
    from stikprove.sampling import draw
    from stikprove.store import store_drawn_sample
    from stikprove.synth import simulate_reviews, write_synthetic_frame
    from stikprove.worklist import worklist_table

    write_synthetic_frame(folder / "frame", seed=7, kommuner=list(kommuner), scale=1.0)
    text = TEMPLATE.read_text(encoding="utf-8")
    text = text.replace('path = "../synthetic_data/national/frame.csv"',
                        f'path = "{(folder / "frame" / "frame.csv").as_posix()}"')
    text = text.replace("max_reviews = 6000", f"max_reviews = {max_reviews}")
    text = text.replace("double_review_fraction = 0.05", "double_review_fraction = 0.3")
    protocol_path = folder / "protocol.toml"
    protocol_path.write_text(text, encoding="utf-8")
    protocol = load_protocol(protocol_path)
    frame = load_study_frame(protocol)
    fields = tuple(protocol.worklist_fields)
    study = store_drawn_sample(draw(protocol, frame), folder / "study.sqlite", fields,
                               frame[["case_id", *fields]])  # fmt: skip
    assign_reviewers(study, ["overlaege_a", "overlaege_b"])
    truth = pd.read_csv(folder / "frame" / "truth.csv", dtype=str, keep_default_na=False)
    truth = truth.replace("", None)
    for attempt in range(10):
        opened = 0
        for number, reviewer in enumerate(("overlaege_a", "overlaege_b")):
            todo = worklist_table(study, reviewer)
            if reviews is not None:
                todo = todo.head(reviews)
            if todo.empty:
                continue
            answers = simulate_reviews(truth, todo["case_id"], 100 + attempt * 2 + number,
                                       disagreement=0.2 * number)  # fmt: skip
            answers["note"] = [NOTE.format(c) for c in answers["case_id"]]
            import_entries(study, answers, reviewer)
            opened += len(todo)
        if opened == 0 or reviews is not None:
            break
    return folder / "study.sqlite", frame
