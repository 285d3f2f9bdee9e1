"""The codebook as a web form: which control each field gets, and what a posted form means.

Nothing here checks values: the posted values go to
:func:`stikprove.recording.record_assessment`, which checks them with the same code as the
strict import (:func:`stikprove.recording.check_values`) and refuses with every problem;
:func:`field_errors` puts those problems beside their fields, in the reviewer's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stikprove.codebook import Codebook, Field
from stikprove.errors import Problem

_DATE_HINT = re.compile(r"\s*\((ÅÅÅÅ|YYYY)-MM-DD\)")
"""A date label's typing hint for the worklists ("(ÅÅÅÅ-MM-DD)"): left out of the web form,
whose date control shows the browser's own format and posts ISO dates."""

RADIO_MAX_CODES = 3
"""A choice with at most this many codes is shown as radio buttons, else as a drop-down."""
REASON = "reason"
"""The form field with the reason for a correction (as the import's ``reason`` column)."""


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    checked: bool


@dataclass(frozen=True)
class FormField:
    """One codebook field as the template draws it.

    ``control`` is 'radio', 'select', 'date' or 'textarea'; ``when`` says when it must be
    filled ('always', 'eligible', 'ineligible' or 'never', as the codebook's ``required``).
    """

    name: str
    label: str
    help: str
    control: str
    when: str
    value: str
    options: tuple[Option, ...]
    error: str | None


UI_TEXT = {
    "da": {
        "required_eligible": "Udfyldes når sagen er omfattet (ja)",
        "required_ineligible": "Udfyldes når sagen ikke er omfattet (nej)",
        "required_always": "Skal udfyldes",
        "optional": "Kan udelades",
        "empty_choice": "— vælg —",
        "no_value": "Ikke udfyldt",
        "missing": "Skal udfyldes.",
        "not_applicable": "Skal være tom: feltet gælder kun, når 'omfattet' er {applies}.",
        "future": "Datoen må ikke ligge efter i dag ({today}).",
        "date": "Skriv en dato som ÅÅÅÅ-MM-DD.",
        "code": "Vælg en af de viste værdier.",
        "too_long": "Højst {most} tegn (her er {got}). Intet er gemt.",
        "control": "Teksten indeholder et kontroltegn (fx fra en kopi fra et andet program). "
        "Skriv den igen. Intet er gemt.",
        "cpr": "Ikke gemt: feltet indeholdt noget, der ligner et CPR-nummer. CPR-numre må "
        "ikke stå i undersøgelsen; skriv teksten igen uden.",
    },
    "en": {
        "required_eligible": "Filled in when the case is eligible (yes)",
        "required_ineligible": "Filled in when the case is not eligible (no)",
        "required_always": "Required",
        "optional": "Optional",
        "empty_choice": "— choose —",
        "no_value": "Not filled in",
        "missing": "Required.",
        "not_applicable": "Must be empty: the field applies only when 'eligible' is {applies}.",
        "future": "The date must not be after today ({today}).",
        "date": "Write a date as YYYY-MM-DD.",
        "code": "Choose one of the values shown.",
        "too_long": "At most {most} characters (this has {got}). Nothing was saved.",
        "control": "The text holds a control character (pasted from another program, say). "
        "Type it again. Nothing was saved.",
        "cpr": "Not saved: the field held something like a CPR number. CPR numbers must not "
        "be in the study; write the text again without it.",
    },
}


def control_of(field: Field) -> str:
    if field.kind == "choice":
        return "radio" if len(field.codes) <= RADIO_MAX_CODES else "select"
    return "date" if field.kind == "date" else "textarea"


def form_fields(
    codebook: Codebook,
    values: Mapping[str, str | None],
    errors: Mapping[str, str] | None = None,
    language: str = "da",
) -> tuple[FormField, ...]:
    """The codebook's fields with ``values`` filled in and ``errors`` beside them."""
    errors = errors or {}
    out = []
    for field in codebook.fields:
        value = values.get(field.name) or ""
        options = tuple(
            Option(code, field.label_of(code, language), code == value) for code in field.codes
        )
        help_text = field.help or {}
        label = field.label.get(language) or field.label.get("da") or field.name
        if control_of(field) == "date":  # the browser's date control shows its own format
            label = _DATE_HINT.sub("", label)
        out.append(
            FormField(
                name=field.name,
                label=label,
                help=help_text.get(language) or help_text.get("da") or "",
                control=control_of(field),
                when=field.required,
                value=value,
                options=options,
                error=errors.get(field.name),
            )
        )
    return tuple(out)


MAX_TEXT_LENGTH = 2000
"""The most characters a note or a correction's reason may hold (a few paragraphs: the
form is for an assessment, not a case record)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
"""Control characters other than tab and line breaks (NUL among them), and Unicode's line
and paragraph separators: nothing a reviewer types, and nothing a text field keeps."""


def text_problems(values: Mapping[str, str | None], language: str = "da") -> dict[str, str]:
    """The free-text values (a note, a reason) that are refused before anything is
    checked or written: over :data:`MAX_TEXT_LENGTH` characters, or holding a control
    character such as NUL. Field -> message in ``language``."""
    text = UI_TEXT[language]
    problems = {}
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        if len(value) > MAX_TEXT_LENGTH:
            problems[name] = text["too_long"].format(most=MAX_TEXT_LENGTH, got=len(value))
        elif _CONTROL.search(value):
            problems[name] = text["control"]
    return problems


def posted_values(codebook: Codebook, form: Mapping[str, str]) -> dict[str, str | None]:
    """The codebook fields of a posted form (absent or blank: None). Values are passed on
    as posted (also codes the form never offered): the recording checks them."""
    values: dict[str, str | None] = {}
    for field in codebook.fields:
        raw = form.get(field.name)
        values[field.name] = raw.strip() or None if isinstance(raw, str) else None
    return values


def field_errors(
    codebook: Codebook, problems: list[Problem], today: str, language: str = "da"
) -> tuple[dict[str, str], list[str]]:
    """The problems of a refused entry as (field -> message, other messages), in
    ``language``. A problem's ``expected`` text (from the recording's checks) says what was
    expected; the well-known ones are said in the reviewer's words."""
    text = UI_TEXT[language]
    by_field: dict[str, str] = {}
    other: list[str] = []
    names = set(codebook.field_names) | {REASON}
    for problem in problems:
        column = problem.column or ""
        if column in names:
            by_field[column] = _message(problem, text, today)
        else:
            other.append(problem.expected)
    return by_field, other


def _message(problem: Problem, text: dict[str, str], today: str) -> str:
    expected = problem.expected
    if problem.value is None:
        return text["missing"]
    if "applies only when eligible = " in expected:
        return text["not_applicable"].format(applies=expected.rsplit("= ", 1)[1])
    if "not in the future" in expected:
        return text["future"].format(today=today)
    if expected.startswith("a date"):
        return text["date"]
    if expected.startswith("one of"):
        return text["code"]
    return expected
