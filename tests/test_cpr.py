"""The CPR detector: every form in the catalogue found and masked, nothing else found
(the synthetic frame, the codebook, hexadecimal ids), and messages never echo one."""

import re
import string
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.codebook import default_codebook
from stikprove.cpr import MASK, contains_cpr, cpr_positions, mask_cpr, valid_birth_date
from stikprove.errors import FrameError, Problem
from stikprove.frame import ALLOWED_VALUES
from stikprove.kommuner import kommune_table
from stikprove.synth import synthesize_frame
from strategies import scaled

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = tomllib.loads((ROOT / "tests/catalogue/cpr_forms.toml").read_text("utf-8"))
SEPARATORS = ["", "-", " ", "\u00a0", "\u202f", ".", "/", " - ", "\u2013", "\u2011"]


@pytest.mark.parametrize("text", CATALOGUE["found"])
def test_each_catalogued_form_is_found_and_masked(text):
    """Every CPR form of the catalogue is found, and masking leaves no CPR-like number."""
    assert contains_cpr(text)
    masked = mask_cpr(text)
    assert MASK in masked and not contains_cpr(masked)
    assert "1234" not in masked and "0101" not in masked


@pytest.mark.parametrize("text", CATALOGUE["not_found"])
def test_no_catalogued_look_alike_is_found(text):
    """Dates, phone numbers, amounts, codes and hex ids are not CPR-like."""
    assert not contains_cpr(text)
    assert mask_cpr(text) == text


@st.composite
def cpr_texts(draw):
    """A CPR-like number with a valid birth date, random separators, inside random text."""
    day = draw(st.integers(1, 28))
    month = draw(st.integers(1, 12))
    year = draw(st.integers(0, 99))
    serial = draw(st.integers(0, 9999))
    seps = [draw(st.sampled_from(SEPARATORS)) for _ in range(3)]
    # a decimal number's shape (3011.358353, 01-01.000000: a point before six digits or
    # more) is read as a decimal, not a CPR number
    if seps[2] == "" and (seps[1] == "." or sorted(seps[:2]) == ["", "."]):
        seps[2] = draw(st.sampled_from([s for s in SEPARATORS[1:] if s != "."]))
    number = f"{day:02d}{seps[0]}{month:02d}{seps[1]}{year:02d}{seps[2]}{serial:04d}"
    words = st.text(alphabet="ghijklmnopqrstuvwxyzæøå :;,()", max_size=12)
    return draw(words) + number + draw(words)


@settings(max_examples=scaled(100))
@given(cpr_texts())
def test_any_cpr_like_number_in_any_text_is_found(text):
    """A valid date and a serial, with any separators and any surrounding words, is found;
    its mask holds none."""
    assert contains_cpr(text)
    assert not contains_cpr(mask_cpr(text))


@settings(max_examples=scaled(100))
@given(st.text(alphabet="0123456789abcdef", min_size=16, max_size=20).filter(
    lambda t: t[0] in "abcdef" or t[-1] in "abcdef" or len(t) > 10))  # fmt: skip
def test_hexadecimal_ids_are_never_cpr_like(text):
    """A pseudonymous case id (hex) never holds a CPR-like number, however many digits."""
    assert not contains_cpr(text)


@settings(max_examples=scaled(100))
@given(st.text(alphabet=string.digits + " -./:", max_size=30))
def test_mask_leaves_nothing_cpr_like(text):
    """Whatever the text, its mask holds no CPR-like number."""
    assert not contains_cpr(mask_cpr(text))


def test_birth_dates_follow_the_calendar():
    """Day and month must form a date; 29 February only in years divisible by 4."""
    assert valid_birth_date(31, 12, 99) and not valid_birth_date(31, 11, 99)
    assert valid_birth_date(29, 2, 96) and not valid_birth_date(29, 2, 97)
    assert not valid_birth_date(0, 1, 90) and not valid_birth_date(1, 13, 90)


def test_no_false_positive_on_the_synthetic_frame():
    """Not one cell of the committed synthetic frame and of a synthesised one is CPR-like."""
    committed = pd.read_csv(ROOT / "synthetic_data/frame.csv", dtype=str, keep_default_na=False)
    fresh = synthesize_frame(seed=20261201, kommuner=["461"]).frame
    for frame in (committed, fresh.astype(str)):
        for column in frame.columns:
            assert cpr_positions(frame[column].tolist()) == [], column


def test_no_false_positive_on_the_codebook_and_the_categories():
    """No codebook code or label, frame category or kommune name is CPR-like."""
    book = default_codebook()
    texts = [book.text]
    for field in book.fields:
        texts += [field.name, *field.label.values()]
        for code in field.codes:
            texts += [code, field.label_of(code, "da"), field.label_of(code, "en")]
    texts += [v for values in ALLOWED_VALUES.values() for v in values]
    texts += kommune_table().astype(str).to_numpy().ravel().tolist()
    assert [t for t in texts if contains_cpr(t)] == []


def test_error_messages_never_echo_a_cpr_number():
    """A problem quoting a value, and any error message, shows the mask instead."""
    problem = Problem(3, "note", "ring 010190\u00a01234", "no CPR number")
    assert "1234" not in str(problem) and MASK in str(problem)
    error = FrameError("got 'CPR: 0101901234' in row 2")
    assert "0101901234" not in str(error) and MASK in str(error)


@pytest.mark.parametrize("form", ["010190\u00a01234", "010190\u202f1234", "010190\t1234"])
def test_a_value_quoted_with_repr_is_masked_too(form):
    """A message quoting a value with !r shows a non-breaking space as \\xa0: still masked."""
    error = FrameError(f"reviewer {form!r} is not in this study")
    assert MASK in str(error) and "1234" not in str(error)


def _frame_with_note(note: str) -> pd.DataFrame:
    return pd.DataFrame({
        "case_id": ["a01", "a02"], "kommune_code": ["461", "461"], "sex": ["kvinde", "mand"],
        "origin": ["dansk_oprindelse"] * 2, "age": ["45", "38"], "years_on_benefit": ["1", ""],
        "category": ["aktivitetsparat"] * 2, "health_exempt": ["ja", "nej"],
        "last_effort_date": ["", ""], "bemaerkning": ["", note],
    })  # fmt: skip


@pytest.mark.parametrize("form", CATALOGUE["found"])
def test_every_form_is_refused_by_the_frame_check(form):
    """Every catalogued form, in any frame column, stops load_frame (PrivacyError naming
    the column and row, not the value)."""
    from stikprove.errors import PrivacyError
    from stikprove.frame import load_frame

    with pytest.raises(PrivacyError) as info:
        load_frame(_frame_with_note(form))
    assert "'bemaerkning'" in str(info.value) and "rows 3" in str(info.value)
    assert not contains_cpr(str(info.value))


def test_every_form_is_refused_in_a_note_and_a_reason(tmp_path):
    """Every catalogued form in a note or a correction reason is refused by row and column,
    and nothing is written."""
    from stikprove.errors import ImportRowsError
    from stikprove.recording import import_entries
    from store_fixtures import entry, make_study

    study = make_study(tmp_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    for form in CATALOGUE["found"]:
        for column in ("note", "reason"):
            row = {**entry(case), column: form}
            with pytest.raises(ImportRowsError) as info:
                import_entries(study, [row], "anna")
            assert [(p.row, p.column) for p in info.value.problems] == [(2, column)], form
            assert not contains_cpr(str(info.value))
    assert study.assessments().empty


def test_every_form_is_refused_by_record_and_in_a_protocol(tmp_path):
    """Every catalogued form is refused by the one-case ``record`` (a note) and in a
    protocol's title, never echoed."""
    import json

    from stikprove.errors import ImportRowsError, ProtocolError
    from stikprove.protocol import parse_protocol
    from stikprove.recording import record_assessment
    from store_fixtures import ELIGIBLE_ENTRY, make_study

    study = make_study(tmp_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    base = (ROOT / "protocols/odense-replication.toml").read_text("utf-8")
    title = next(line for line in base.splitlines() if line.startswith("title"))
    for form in CATALOGUE["found"]:
        with pytest.raises(ImportRowsError) as info:
            record_assessment(study, "anna", case, {**ELIGIBLE_ENTRY, "note": form})
        assert [p.column for p in info.value.problems] == ["note"], form
        text = base.replace(title, f"title = {json.dumps('Studie ' + form)}")
        with pytest.raises(ProtocolError) as refused:
            parse_protocol(text, ROOT / "protocols/odense-replication.toml")
        assert "CPR" in str(refused.value) and not contains_cpr(str(refused.value)), form
    assert study.assessments().empty


@settings(max_examples=scaled(300))
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
       st.sampled_from(["{:r}", "{:.6f}", "{:.10f}", "{:.3f}", "{:e}", "{:.10g}"]),
       st.booleans())  # fmt: skip
def test_decimal_numbers_are_never_cpr_like(number, pattern, comma):
    """A decimal number as Python or a table prints it (with a point, or a Danish comma) is
    not CPR-like, unless its fraction is zero (``0101901234.0`` is a CPR a spreadsheet read
    as a number)."""
    text = repr(number) if pattern == "{:r}" else pattern.format(number)
    if comma:
        text = text.replace(".", ",")
    fraction = text.partition("," if comma else ".")[2]
    if fraction.strip("0") == "" or ("e" in text.lower() and abs(number) >= 1e8):
        return  # an integer: CPR-like when its digits are one
    if re.fullmatch(r"-?\d{6}[.,]\d{4}", text):
        return  # a CPR number written with a point (010190.1234) has this very shape
    assert not contains_cpr(text), text
    assert not contains_cpr(f"n_eff {text} og {text}"), text


@pytest.mark.parametrize("form", ["010190\u200b1234", "０１０１９０－１２３４", "01-01-1990-1234"])
def test_masking_keeps_the_text_around_the_number(form):
    """The mask replaces the number as written (zero-width and fullwidth characters
    included) and leaves the words around it."""
    assert mask_cpr(f"ring {form} i dag") == f"ring {MASK} i dag"
