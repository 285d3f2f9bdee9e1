"""The interactive prompts: a reviewer enters their open cases one field at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TextIO

from stikprove.codebook import Codebook
from stikprove.errors import ImportRowsError
from stikprove.recording.entries import Activation, record_assessment, value_problem
from stikprove.store import Study
from stikprove.store.assignment import reviewer_of


@dataclass(frozen=True)
class SessionResult:
    """What an interactive session saved (case ids) and whether it ran to the end."""

    saved: tuple[str, ...]
    finished: bool
    activations: tuple[Activation, ...]


class _Stop(Exception):
    """The reviewer ended the session (q or end of input)."""


def record_interactive(
    study: Study,
    reviewer: str,
    input: TextIO,
    output: TextIO,
    today: date | None = None,
) -> SessionResult:
    """Walk the reviewer through their open cases in draw order, asking each codebook field
    that applies given the answers so far; each case is saved when complete (its own
    transaction), so stopping (q, end of input, Ctrl-C) loses nothing already saved."""
    today = today or date.today()
    reviewer = reviewer_of(study, reviewer)
    saved: list[str] = []
    activations: list[Activation] = []
    skipped: set[str] = set()

    def say(text: str = "") -> None:
        output.write(text + "\n")
        output.flush()

    def ask(prompt: str) -> str:
        output.write(prompt)
        output.flush()
        line = input.readline()
        if not line:
            raise _Stop
        answer = line.strip()
        if answer.lower() == "q":
            raise _Stop
        return answer

    say(f"Indtastning for {reviewer}. Skriv q for at stoppe; s springer sagen over. "
        "Hver sag gemmes, når den er udfyldt.")  # fmt: skip
    try:
        while True:
            cases = study.open_cases(reviewer)
            cases = cases[~cases["case_id"].isin(skipped)]
            if cases.empty:
                say(f"Ingen flere åbne sager. Gemt i denne session: {len(saved)}.")
                return SessionResult(tuple(saved), True, tuple(activations))
            case = cases.iloc[0]
            say()
            say(f"Sag {case['case_id']} — {case['kommune_code']} {case['kommune_name']}, "
                f"stratum {case['stratum']} ({len(cases)} åbne sager tilbage)")  # fmt: skip
            values = _ask_case(study.codebook, ask, say, today)
            if values is None:
                skipped.add(case["case_id"])
                continue
            try:
                result = record_assessment(
                    study, reviewer, case["case_id"], values,
                    source="stikprove record (interactive)", today=today,
                )  # fmt: skip
            except ImportRowsError as error:
                say(f"Ikke gemt: {error}")
                skipped.add(case["case_id"])
                continue
            saved.append(case["case_id"])
            activations.extend(result.activations)
            say(f"Gemt: {case['case_id']}.")
            for a in result.activations:
                if a.reserve_case:
                    say(f"Sagen er ikke omfattet: reservesag {a.reserve_case} er aktiveret "
                        "og lagt på din liste.")  # fmt: skip
                else:
                    say("Sagen er ikke omfattet, og stratummet har ingen reserver tilbage.")
    except _Stop:
        say(f"Stoppet. Gemt i denne session: {len(saved)}; intet gemt er tabt.")
        return SessionResult(tuple(saved), False, tuple(activations))


def _ask_case(codebook: Codebook, ask, say, today: date) -> dict[str, str | None] | None:
    values: dict[str, str | None] = {}
    for field in codebook.fields:
        eligible = values.get("eligible")
        if field.required in ("eligible", "ineligible") and not field.is_required(eligible):
            values[field.name] = None
            continue
        optional = field.required == "never"
        label = field.label.get("da", field.name)
        if field.kind == "choice":
            say(f"{label}:")
            for i, code in enumerate(field.codes, start=1):
                say(f"  {i}) {field.label_of(code)} [{code}]")
            while True:
                answer = ask("Vælg nummer" + (" (Enter: intet)" if optional else "") + ": ")
                if answer.lower() == "s":
                    return None
                if optional and not answer:
                    values[field.name] = None
                    break
                if answer.isdigit() and 1 <= int(answer) <= len(field.codes):
                    values[field.name] = field.codes[int(answer) - 1]
                    break
                if answer in field.codes:
                    values[field.name] = answer
                    break
                say(f"  Skriv et tal fra 1 til {len(field.codes)}.")
        elif field.kind == "date":
            while True:
                answer = ask(f"{label} (Enter: {today.isoformat()}): ") or today.isoformat()
                if answer.lower() == "s":
                    return None
                problem = value_problem(field, answer, today)
                if problem is None:
                    values[field.name] = answer
                    break
                say(f"  Forventede {problem}.")
        else:
            answer = ask(f"{label}" + (" (Enter: intet)" if optional else "") + ": ")
            if answer.lower() == "s" and not optional:
                return None
            values[field.name] = answer or None
    return values
