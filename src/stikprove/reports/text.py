"""The words of the reports, in Danish (default) and English.

Category codes stay Danish codes in the data; here they get their labels. Numbers are written
the way each language writes them: Danish "11 % (95 %-KI 6–19 %)" with a decimal comma,
English "11% (95% CI 6–19%)". Every sentence a report prints comes from this module, so a
translation is one place to change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from stikprove.errors import StikproveError
from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD, canonical_method

LANGUAGES = ("da", "en")

GROUP_LABELS: dict[str, dict[str, str]] = {
    # sex
    "kvinde": {"da": "kvinder", "en": "women"},
    "mand": {"da": "mænd", "en": "men"},
    # origin (Danmarks Statistik's categories and their own wording)
    "dansk_oprindelse": {"da": "dansk oprindelse", "en": "Danish origin"},
    "indvandrer_vestlig": {"da": "indvandrere fra vestlige lande",
                           "en": "immigrants from Western countries"},
    "indvandrer_ikke_vestlig": {"da": "indvandrere fra ikke-vestlige lande",
                                "en": "immigrants from non-Western countries"},
    "efterkommer_vestlig": {"da": "efterkommere fra vestlige lande",
                            "en": "descendants from Western countries"},
    "efterkommer_ikke_vestlig": {"da": "efterkommere fra ikke-vestlige lande",
                                 "en": "descendants from non-Western countries"},
    # collapsed origin groups of the national template protocol
    "dansk": {"da": "dansk oprindelse", "en": "Danish origin"},
    "vestlig": {"da": "vestlig oprindelse", "en": "Western origin"},
    "ikke_vestlig": {"da": "ikke-vestlig oprindelse", "en": "non-Western origin"},
    "all": {"da": "alle", "en": "all"},
}  # fmt: skip

_OF_ORIGIN: dict[str, dict[str, str]] = {
    "dansk_oprindelse": {"da": "af dansk oprindelse", "en": "of Danish origin"},
    "dansk": {"da": "af dansk oprindelse", "en": "of Danish origin"},
    "vestlig": {"da": "af vestlig oprindelse", "en": "of Western origin"},
    "ikke_vestlig": {"da": "af ikke-vestlig oprindelse", "en": "of non-Western origin"},
}
"""Origins said of a sex: "kvinder af dansk oprindelse"."""

_SEX_ADJECTIVE: dict[str, dict[str, str]] = {
    "kvinde": {"da": "kvindelige", "en": "female"},
    "mand": {"da": "mandlige", "en": "male"},
}
"""A sex said of immigrants or descendants: "kvindelige indvandrere fra ikke-vestlige lande"."""

COLUMN_LABELS: dict[str, dict[str, str]] = {
    "kommune_code": {"da": "Kommunekode", "en": "Kommune code"},
    "kommune_name": {"da": "Kommune", "en": "Kommune"},
    "stratum": {"da": "Stratum", "en": "Stratum"},
    "sex": {"da": "Køn", "en": "Sex"},
    "origin": {"da": "Herkomst", "en": "Origin"},
    "group": {"da": "Gruppe", "en": "Group"},
    "indicator": {"da": "Indikator", "en": "Indicator"},
    "population_size": {"da": "Personer i alt (N)", "en": "People (N)"},
    "sample_size": {"da": "Udtrukket (n)", "en": "Sampled (n)"},
    "taken": {"da": "Taget ud (stikprøve og reserver)", "en": "Taken (sample and reserves)"},
    "sampling_fraction": {"da": "Udvælgelsesandel", "en": "Sampling fraction"},
    "done": {"da": "Vurderet", "en": "Reviewed"},
    "remaining": {"da": "Mangler", "en": "Remaining"},
    "share_done": {"da": "Andel vurderet", "en": "Share reviewed"},
    "n": {"da": "Vurderede personer (n)", "en": "People assessed (n)"},
    "estimate": {"da": "Andel", "en": "Proportion"},
    "se": {"da": "Standardfejl", "en": "Standard error"},
    "df": {"da": "Frihedsgrader", "en": "Degrees of freedom"},
    "ci_low": {"da": "Nedre grænse", "en": "Lower limit"},
    "ci_high": {"da": "Øvre grænse", "en": "Upper limit"},
    "n_eff": {"da": "Effektiv n", "en": "Effective n"},
    "deff": {"da": "Designeffekt", "en": "Design effect"},
    "estimate_missing_as_0": {"da": "Mindst (manglende = nej)", "en": "Lowest (missing = no)"},
    "estimate_missing_as_1": {"da": "Højst (manglende = ja)", "en": "Highest (missing = yes)"},
    "n_missing": {"da": "Berettigede uden vurdering", "en": "Eligible, not assessed"},
    "national_rate": {"da": "Andel i hele landet", "en": "National proportion"},
    "difference": {"da": "Forskel", "en": "Difference"},
    "se_difference": {"da": "Standardfejl for forskel", "en": "Standard error of difference"},
    "df_difference": {"da": "Frihedsgrader for forskel", "en": "Degrees of freedom of difference"},
    "statistic": {"da": "Teststørrelse", "en": "Test statistic"},
    "tested": {"da": "Testet", "en": "Tested"},
    "p_value": {"da": "p-værdi", "en": "p-value"},
    "p_adjusted": {"da": "Justeret p-værdi (BH)", "en": "Adjusted p-value (BH)"},
    "flagged": {"da": "Afviger fra landet", "en": "Differs from the nation"},
    "disclosure": {"da": "Note", "en": "Note"},
    "direct": {"da": "Direkte estimat", "en": "Direct estimate"},
    "direct_ci_low": {"da": "Direkte, nedre grænse", "en": "Direct, lower limit"},
    "direct_ci_high": {"da": "Direkte, øvre grænse", "en": "Direct, upper limit"},
    "model_estimate": {"da": "Modelbaseret estimat", "en": "Model-based estimate"},
    "model_ci_low": {"da": "Modelbaseret, nedre grænse", "en": "Model-based, lower limit"},
    "model_ci_high": {"da": "Modelbaseret, øvre grænse", "en": "Model-based, upper limit"},
    "basis": {"da": "Grundlag", "en": "Basis"},
    "gamma": {"da": "Vægt på kommunens egne tal (γ)", "en": "Weight of the kommune's own data (γ)"},
    "publication": {"da": "Offentliggørelse", "en": "Publication"},
    # the design explorer
    "proportional": {"da": "Proportional", "en": "Proportional"},
    "equal": {"da": "Lige store", "en": "Equal"},
    "neyman": {"da": "Neyman", "en": "Neyman"},
    "allocation": {"da": "Fordeling", "en": "Allocation"},
    "reviews": {"da": "Vurderinger", "en": "Reviews"},
    "hours": {"da": "Lægetimer", "en": "Physician hours"},
    "half_width_all": {"da": "Forventet ± hele undersøgelsen", "en": "Expected ± whole study"},
    "half_width_widest": {"da": "Forventet ± mindst præcise stratum",
                          "en": "Expected ± least precise stratum"},
    "protocol": {"da": "Protokollens fordeling", "en": "The protocol's allocation"},
    "precision": {"da": "Præcisionsstyret", "en": "Precision-driven"},
    "expected_half_width": {"da": "Forventet ±", "en": "Expected ±"},
    "nchs_width": {"da": "Forventet intervalbredde (NCHS)", "en": "Expected interval width (NCHS)"},
    "publishable": {"da": "Kan offentliggøres", "en": "Publishable"},
    "publishable_sample_size": {"da": "Kan offentliggøres fra n =",
                                "en": "Publishable from n ="},
    # compare (two groups) and compare --test (Rao–Scott)
    "first": {"da": "Første gruppe", "en": "First group"},
    "second": {"da": "Anden gruppe", "en": "Second group"},
    "n_first": {"da": "Vurderede personer, første (n)", "en": "People assessed, first (n)"},
    "n_second": {"da": "Vurderede personer, anden (n)", "en": "People assessed, second (n)"},
    "estimate_first": {"da": "Andel, første", "en": "Proportion, first"},
    "estimate_second": {"da": "Andel, anden", "en": "Proportion, second"},
    "se_first": {"da": "Standardfejl, første", "en": "Standard error, first"},
    "se_second": {"da": "Standardfejl, anden", "en": "Standard error, second"},
    "ci_low_first": {"da": "Nedre grænse, første", "en": "Lower limit, first"},
    "ci_high_first": {"da": "Øvre grænse, første", "en": "Upper limit, first"},
    "ci_low_second": {"da": "Nedre grænse, anden", "en": "Lower limit, second"},
    "ci_high_second": {"da": "Øvre grænse, anden", "en": "Upper limit, second"},
    "ci_low_difference": {"da": "Nedre grænse for forskel", "en": "Lower limit of difference"},
    "ci_high_difference": {"da": "Øvre grænse for forskel", "en": "Upper limit of difference"},
    "ratio": {"da": "Forhold", "en": "Ratio"},
    "ci_low_ratio": {"da": "Nedre grænse for forhold", "en": "Lower limit of ratio"},
    "ci_high_ratio": {"da": "Øvre grænse for forhold", "en": "Upper limit of ratio"},
    "covariance": {"da": "Kovarians", "en": "Covariance"},
    "method": {"da": "Metode", "en": "Method"},
    "confidence_level": {"da": "Konfidensniveau", "en": "Confidence level"},
    "interval_method": {"da": "Intervalmetode", "en": "Interval method"},
    "df_denominator": {"da": "Frihedsgrader i nævneren", "en": "Denominator degrees of freedom"},
    "pearson": {"da": "Pearsons X²", "en": "Pearson's X²"},
    "mean_design_effect": {"da": "Gennemsnitlig designeffekt", "en": "Mean design effect"},
    "statistic_type": {"da": "Testtype", "en": "Type of statistic"},
    "groups": {"da": "Grupper", "en": "Groups"},
}

DISCLOSURE_NOTES: dict[str, dict[str, str]] = {
    "model_rounded": {
        "da": "Det modelbaserede tal er afrundet til hele procentpoint, så det ikke kan "
        "afsløre et udeladt lille tal.",
        "en": "The model-based figure is rounded to whole percentage points so that it "
        "cannot reveal a suppressed small count.",
    },
    "model_synthetic": {
        "da": "Det modelbaserede tal bygger kun på kommunens sammensætning (syntetisk "
        "estimat), da kommunens egne tal ellers kunne regnes ud af det.",
        "en": "The model-based figure rests on the kommune's composition alone (synthetic "
        "estimate), as the kommune's own figures could otherwise be worked out from it.",
    },
    "small": {
        "da": "Færre end {threshold} personer: tallet er udeladt af hensyn til diskretion.",
        "en": "Fewer than {threshold} people: suppressed for confidentiality.",
    },
    "complementary": {
        "da": "Udeladt, så et udeladt lille tal ikke kan regnes ud fra totalen.",
        "en": "Suppressed so that a suppressed small count cannot be derived from the total.",
    },
    "nchs_n_eff": {
        "da": "For få personer til et pålideligt tal (effektiv stikprøvestørrelse under 30; "
              "NCHS).",
        "en": "Too few people for a reliable figure (effective sample size under 30; NCHS).",
    },
    "nchs_width": {
        "da": "For usikkert: konfidensintervallet er 30 procentpoint bredt eller mere (NCHS).",
        "en": "Too uncertain: the interval is 30 percentage points wide or more (NCHS).",
    },
    "nchs_relative_width": {
        "da": "For usikkert: intervallet er bredere end 130 % af andelen (NCHS).",
        "en": "Too uncertain: the interval is wider than 130% of the proportion (NCHS).",
    },
    "nchs_complement": {
        "da": "Tolkes varsomt: intervallet er bredt i forhold til den modsatte andel (NCHS).",
        "en": "Interpret with care: the interval is wide relative to the complement (NCHS).",
    },
    "nchs_df": {
        "da": "Tolkes varsomt: færre end 8 frihedsgrader (NCHS).",
        "en": "Interpret with care: fewer than 8 degrees of freedom (NCHS).",
    },
    "nchs_zero": {
        "da": "Tolkes varsomt: andelen er 0 % eller 100 % (NCHS).",
        "en": "Interpret with care: the proportion is 0% or 100% (NCHS).",
    },
}

PHRASES: dict[str, dict[str, str]] = {
    "title": {
        "da": "Genvurdering af aktivitetsparate kontanthjælpsmodtagere: {kommune}",
        "en": "Re-assessment of non-job-ready cash-benefit recipients: {kommune}",
    },
    "national_title": {
        "da": "Genvurdering af aktivitetsparate kontanthjælpsmodtagere: hele landet",
        "en": "Re-assessment of non-job-ready cash-benefit recipients: the whole country",
    },
    "headline": {
        "da": "Blandt {group} i {place} vurderes {estimate} ({level}-KI {low}–{high}) {what}.",
        "en": "Among {group} in {place}, {estimate} ({level} CI {low}–{high}) are assessed {what}.",
    },
    "too_small": {
        "da": "For {group} i {place} er gruppen for lille til at sige noget sikkert: {why}",
        "en": "For {group} in {place} the group is too small to conclude anything: {why}",
    },
    "not_shown": {
        "da": "For {group} i {place} vises tallet ikke: {why}",
        "en": "For {group} in {place} the figure is not shown: {why}",
    },
    "all_cases": {"da": "alle personer", "en": "everyone"},
    "not_for_publication": {
        "da": "IKKE TIL OFFENTLIGGØRELSE: rå tabel uden diskretionskontrol",
        "en": "NOT FOR PUBLICATION: raw table without disclosure control",
    },
}

INDICATOR_WHAT: dict[str, dict[str, str]] = {
    "too_ill": {
        "da": "at være for syge til en beskæftigelsesrettet indsats",
        "en": "too ill for employment-oriented effort",
    },
    "misclassified": {
        "da": "at kunne deltage i en indsats, selv om de er fritaget af helbredsgrunde",
        "en": "able to take part although exempted for health reasons",
    },
    "no_effort": {
        "da": "ikke at have fået tilbud eller mentor det seneste år",
        "en": "to have had no offer or mentor in the last year",
    },
}


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise StikproveError(f"language must be one of {LANGUAGES}; got {language!r}")
    return language


def group_label(code: object, language: str = "da") -> str:
    """The label of a category code (the code itself when it has none)."""
    return GROUP_LABELS.get(str(code), {}).get(language, str(code))


def group_phrase(row: Mapping[str, object], language: str = "da") -> str:
    """The group of an estimates row in words, as Danmarks Statistik names it: "kvinder af
    dansk oprindelse", "kvindelige indvandrere fra ikke-vestlige lande" / "women of Danish
    origin", "female immigrants from non-Western countries"; one part alone: "mænd",
    "indvandrere fra vestlige lande", "personer af dansk oprindelse"; "" for no part. (A
    table's origin column keeps the short label, :func:`group_label`: "dansk oprindelse".)

    >>> group_phrase({"sex": "kvinde", "origin": "dansk_oprindelse"})
    'kvinder af dansk oprindelse'
    >>> group_phrase({"sex": "kvinde", "origin": "indvandrer_ikke_vestlig"})
    'kvindelige indvandrere fra ikke-vestlige lande'
    >>> group_phrase({"sex": "mand", "origin": "ikke_vestlig"}, "en")
    'men of non-Western origin'
    """
    sex, origin = (row.get(c) for c in ("sex", "origin"))
    sex = sex if isinstance(sex, str) and sex else None
    origin = origin if isinstance(origin, str) and origin else None
    if sex and origin:
        if origin in _OF_ORIGIN:
            return f"{group_label(sex, language)} {_OF_ORIGIN[origin][language]}"
        if sex in _SEX_ADJECTIVE and origin in GROUP_LABELS:
            return f"{_SEX_ADJECTIVE[sex][language]} {group_label(origin, language)}"
        return f"{group_label(sex, language)}, {group_label(origin, language)}"
    if origin in _OF_ORIGIN:  # "personer af dansk oprindelse"
        return f"{'personer' if language == 'da' else 'people'} {_OF_ORIGIN[origin][language]}"
    return group_label(sex or origin, language) if (sex or origin) else ""


def capitalised(text: str) -> str:
    """The text with its first letter upper case (a label at the start of a table row)."""
    return text[:1].upper() + text[1:]


def column_label(column: str, language: str = "da") -> str:
    """A column's header in the report language (the column name when it has none)."""
    return COLUMN_LABELS.get(column, {}).get(language, column)


def column_labels(columns: list[str], language: str = "da") -> dict[str, str]:
    return {c: column_label(c, language) for c in columns}


def phrase(key: str, language: str = "da", **values: object) -> str:
    return PHRASES[key][check_language(language)].format(**values)


MINUS = "\u2212"
"""The minus sign (U+2212) numbers are written with, not the hyphen-minus."""


def _signed(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def percent(value: float, language: str = "da", digits: int = 0) -> str:
    """A proportion as a percentage: Danish "11 %" / "12,5 %", English "11%" / "12.5%";
    a negative one with a true minus sign.

    >>> percent(0.125, "da", 1), percent(0.125, "en", 1), percent(float("nan"))
    ('12,5 %', '12.5%', '–')
    >>> percent(-0.04) == "\u22124 %"
    True
    """
    if value is None or not math.isfinite(value):
        return "–"
    text = _signed(f"{100 * value:.{digits}f}")
    if text.lstrip(MINUS).strip("0.") == "":
        text = text.lstrip(MINUS)  # no "−0 %"
    return f"{text.replace('.', ',')} %" if language == "da" else f"{text}%"


def number(value: float, language: str = "da", digits: int = 0) -> str:
    """A number with the language's decimal mark (Danish comma) and a true minus sign.

    >>> number(0.4321, "da", 2), number(0.4321, "en", 2)
    ('0,43', '0.43')
    >>> number(-12.5, "da", 1) == "\u221212,5"
    True
    """
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:,.{digits}f}"
    if language == "da":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    text = _signed(text)
    if text.lstrip(MINUS).strip("0.,") == "":
        text = text.lstrip(MINUS)  # no "−0"
    return text


def disclosure_notes(codes: object, language: str = "da", threshold: int = 5) -> list[str]:
    """The footnotes for a ``disclosure`` cell ("small,nchs_df" -> two sentences)."""
    out = []
    for code in str(codes or "").split(","):
        if code in DISCLOSURE_NOTES:
            out.append(DISCLOSURE_NOTES[code][language].format(threshold=threshold))
    return out


def open_review_lead(reviewed: float | None, covered: float, place: str,
                     language: str = "da", threshold: int = 5) -> str:  # fmt: skip
    """The lead sentence of a report whose review is still running, instead of a figure
    "among all cases": the share of the sampled cases reviewed (None: fewer than the
    threshold), the share of the population the figures cover, and where the preliminary
    results are (docs/interim.md).

    >>> open_review_lead(0.38, 0.51, "Odense", "en")[:80]
    'The review in Odense is under way: 38% of the sampled cases are reviewed so far.'
    """
    language = check_language(language)
    share = (percent(reviewed, language) if reviewed is not None
             else {"da": f"færre end {threshold}", "en": f"fewer than {threshold}"}[language])
    if language == "da":
        return (
            f"Genvurderingen i {place} er i gang: {share} af de udtrukne sager er vurderet "
            "indtil nu. Alle tal er foreløbige og dækker kun grupper med vurderede sager "
            f"({percent(covered, language)} af sagerne i {place}); se de foreløbige "
            "resultater nedenfor."
        )
    return (
        f"The review in {place} is under way: {share} of the sampled cases are reviewed so "
        "far. Every figure is preliminary and covers only the groups with reviewed cases "
        f"({percent(covered, language)} of the cases in {place}); see the preliminary "
        "results below."
    )


def headline(
    row: Mapping[str, object],
    group: str,
    place: str,
    indicator: str,
    language: str = "da",
    confidence_level: float = 0.95,
    threshold: int = 5,
) -> str:
    """One plain sentence quoting the estimate with its interval, or saying plainly that the
    group is too small to conclude anything (when disclosure control hid the estimate for
    its own few cases), or that its figure is not shown (a complementary suppression: the
    group may be large, it is hidden to protect another group's small count).

    >>> headline({"estimate": 0.11, "ci_low": 0.06, "ci_high": 0.19, "disclosure": ""},
    ...          "ikke-vestlige indvandrerkvinder", "Odense", "too_ill")
    'Blandt ikke-vestlige indvandrerkvinder i Odense vurderes 11 % (95 %-KI 6–19 %) at være for syge til en beskæftigelsesrettet indsats.'
    """  # noqa: E501
    language = check_language(language)
    estimate = row.get("estimate")
    if estimate is None or not math.isfinite(float(estimate)):  # type: ignore[arg-type]
        notes = disclosure_notes(row.get("disclosure"), language, threshold)
        why = notes[0].rstrip(".") if notes else "–"
        why = why[:1].lower() + why[1:]
        codes = str(row.get("disclosure") or "").split(",")
        key = "not_shown" if codes[0] == "complementary" else "too_small"
        return phrase(key, language, group=group, place=place, why=why) + "."
    what = INDICATOR_WHAT.get(indicator, {}).get(language, indicator)
    level = percent(confidence_level, language)
    return phrase(
        "headline", language, group=group, place=place, what=what, level=level,
        estimate=percent(float(estimate), language),  # type: ignore[arg-type]
        low=percent(float(row["ci_low"]), language).rstrip(" %"),  # type: ignore[arg-type]
        high=percent(float(row["ci_high"]), language),  # type: ignore[arg-type]
    )  # fmt: skip


def _rate_clause(places: Sequence[tuple[str, float]], language: str) -> str:
    """"i Region Syddanmark er andelen 19 % og i hele landet 21 %" (places without a
    figure left out; "" when none has one)."""
    shown = [(place, rate) for place, rate in places if not _missing(rate)]
    if not shown:
        return ""
    parts = [f"{'i' if language == 'da' else 'in'} {place} " for place, _ in shown]
    rates = [percent(float(rate), language) for _, rate in shown]
    if language == "da":
        first = f"{parts[0]}er andelen {rates[0]}"
        rest = [f"{p}{r}" for p, r in zip(parts[1:], rates[1:], strict=True)]
        return " og ".join([first, *rest])
    first = f"{parts[0]}it is {rates[0]}"
    rest = [f"{p}{r}" for p, r in zip(parts[1:], rates[1:], strict=True)]
    return " and ".join([first, *rest])


def lead_sentence(
    row: Mapping[str, object],
    place: str,
    indicator: str,
    language: str = "da",
    confidence_level: float = 0.95,
    compared: Sequence[tuple[str, float]] = (),
    threshold: int = 5,
) -> str:
    """The report's headline: one sentence with the place's rate, its interval, and the rates
    of ``compared`` places beside it (e.g. the region's and the nation's); when the place's
    own rate is hidden, says why in plain words and still gives the others.

    >>> lead_sentence({"estimate": 0.18, "ci_low": 0.14, "ci_high": 0.23, "disclosure": ""},
    ...               "Odense", "too_ill", compared=[("hele landet", 0.21)])
    'I Odense vurderes 18 % af personerne at være for syge til en beskæftigelsesrettet indsats (95 %-KI 14–23 %); i hele landet er andelen 21 %.'
    >>> lead_sentence({"estimate": None, "disclosure": "small"}, "Læsø", "too_ill", "en",
    ...               compared=[("Region Nordjylland", 0.2), ("the whole country", 0.21)])
    'In Læsø too few people are in the study to show a figure; in Region Nordjylland it is 20% and in the whole country 21%.'
    """  # noqa: E501
    language = check_language(language)
    clause = _rate_clause(compared, language)
    estimate = row.get("estimate")
    if _missing(estimate):
        codes = str(row.get("disclosure") or "").split(",")
        if codes[0] == "complementary":
            own = (f"I {place} vises tallet ikke, så et lille tal for en anden gruppe ikke kan "
                   "regnes ud" if language == "da" else f"In {place} the figure is not shown, "
                   "so that a small count of another group cannot be worked out")  # fmt: skip
        else:
            own = (f"I {place} er for få personer med i undersøgelsen til at vise et tal"
                   if language == "da" else
                   f"In {place} too few people are in the study to show a figure")  # fmt: skip
        return own + (f"; {clause}." if clause else ".")
    what = INDICATOR_WHAT.get(indicator, {}).get(language, indicator)
    level = percent(confidence_level, language)
    rate = percent(float(estimate), language)  # type: ignore[arg-type]
    low = percent(float(row["ci_low"]), language).rstrip(" %")  # type: ignore[arg-type]
    high = percent(float(row["ci_high"]), language)  # type: ignore[arg-type]
    if language == "da":
        own = f"I {place} vurderes {rate} af personerne {what} ({level}-KI {low}–{high})"
    else:
        own = f"In {place}, {rate} of the people are assessed {what} ({level} CI {low}–{high})"
    return own + (f"; {clause}." if clause else ".")


BASIS_LABELS: dict[str, dict[str, str]] = {
    "eblup": {"da": "modelbaseret", "en": "model-based"},
    "eblup_1pp": {"da": "modelbaseret (afrundet)", "en": "model-based (rounded)"},
    "synthetic": {"da": "modelbaseret (syntetisk)", "en": "model-based (synthetic)"},
}
"""What a published model-based figure rests on (stikprove.release.small_area.BASES)."""


def basis_label(basis: str, language: str = "da") -> str:
    """A model-based figure's basis in words ("eblup" -> "modelbaseret")."""
    return BASIS_LABELS.get(str(basis), {}).get(check_language(language), str(basis))


def model_lead_sentence(row: Mapping[str, object], place: str, indicator: str,
                        language: str = "da", confidence_level: float = 0.95,
                        compared: Sequence[tuple[str, float]] = ()) -> str:  # fmt: skip
    """The headline of a report whose kommune's own (direct) figure is hidden or too
    uncertain to present: the model-based estimate, called so, with its interval, and the
    rates of ``compared`` places beside it.

    >>> print(model_lead_sentence({"model_estimate": 0.21, "model_ci_low": 0.12,
    ...                            "model_ci_high": 0.33}, "Læsø", "too_ill", "en"))
    In Læsø, a model-based estimate puts 21% of the people too ill for employment-oriented effort (95% interval 12–33%); the kommune's own figures alone are too few or too uncertain to show.
    """  # noqa: E501
    language = check_language(language)
    clause = _rate_clause(compared, language)
    what = INDICATOR_WHAT.get(indicator, {}).get(language, indicator)
    level = percent(confidence_level, language)
    rate = percent(float(row["model_estimate"]), language)  # type: ignore[arg-type]
    low = percent(float(row["model_ci_low"]), language).rstrip(" %")  # type: ignore[arg-type]
    high = percent(float(row["model_ci_high"]), language)  # type: ignore[arg-type]
    if language == "da":
        own = (f"I {place} vurderes efter et modelbaseret estimat {rate} af personerne {what} "
               f"({level}-interval {low}–{high}); kommunens egne tal alene er for få eller for "
               "usikre til at blive vist")
    else:
        own = (f"In {place}, a model-based estimate puts {rate} of the people {what} "
               f"({level} interval {low}–{high}); the kommune's own figures alone are too few "
               "or too uncertain to show")
    return own + (f"; {clause}." if clause else ".")


MODEL_EXPLANATION: dict[str, str] = {
    "da": (
        "Et **modelbaseret** estimat bruger kommunens egne vurderinger sammen med det, "
        "undersøgelsen viser for alle kommuner: en model forudsiger kommunens andel ud fra, "
        "hvem der er på ydelsen i kommunen (køn, herkomst, alder og år på ydelsen), og "
        "estimatet vægter kommunens egne tal og modellens forudsigelse efter, hvor sikre de "
        "hver især er. En kommune med mange vurderede sager får næsten sit eget tal; en lille "
        "kommune låner styrke fra de andre, så intervallet bliver smallere end det direkte "
        "estimats. Et *syntetisk* estimat bygger kun på modellens forudsigelse. Det direkte "
        "estimat er kommunens egne vurderinger alene. Modelbaserede tal er beskyttet som alle "
        "andre tal: de kan ikke bruges til at regne udeladte tal ud."
    ),
    "en": (
        "A **model-based** estimate uses the kommune's own reviews together with what the "
        "study shows for every kommune: a model predicts the kommune's proportion from who "
        "receives the benefit there (sex, origin, age and years on the benefit), and the "
        "estimate weighs the kommune's own figure and the model's prediction by how certain "
        "each is. A kommune with many reviewed cases keeps nearly its own figure; a small one "
        "borrows strength from the others, so its interval is narrower than the direct "
        "estimate's. A *synthetic* estimate rests on the model's prediction alone. The direct "
        "estimate is the kommune's own reviews alone. Model-based figures are protected like "
        "every other figure: they cannot be used to work out a suppressed one."
    ),
}
"""The plain-language explanation of model-based estimates in a report."""


def model_explanation(language: str = "da") -> str:
    """The plain-language explanation of model-based estimates (:data:`MODEL_EXPLANATION`)."""
    return MODEL_EXPLANATION[check_language(language)]


def small_kommune_sentence(place: str, region: str, language: str = "da",
                           threshold: int = 5, model_based: bool = False) -> str:  # fmt: skip
    """Why a kommune's report is short: too few people in the study for any figure of its
    own; what it shows instead (with ``model_based``, the model-based estimates of the
    kommune's section on them, as well as the region's and the nation's figures)."""
    if check_language(language) == "da":
        instead = (f"Rapporten viser i stedet modelbaserede estimater for {place} (afsnittet "
                   f"\"{SECTIONS['model']['da']}\") og tallene for {region} og hele landet."
                   if model_based else
                   f"Rapporten viser i stedet tallene for {region} og hele landet.")
        return (f"{place} har for få personer i undersøgelsen til, at kommunens egne tal kan "
                f"vises: tal bygget på færre end {threshold} personer udelades af hensyn til "
                "diskretion, og andele med for stor usikkerhed udelades efter NCHS' standard. "
                + instead)
    instead = (f"The report shows model-based estimates for {place} instead (the section "
               f"\"{SECTIONS['model']['en']}\") and the figures for {region} and the whole "
               "country." if model_based else
               f"The report shows the figures for {region} and the whole country instead.")
    return (f"{place} has too few people in the study for any figure of its own: figures "
            f"built on fewer than {threshold} people are withheld for confidentiality, and "
            "proportions too uncertain to present are withheld under the NCHS standard. "
            + instead)


def complement_sentence(indicator: str, complement_of: str, language: str = "da") -> str:
    """Why an indicator is not shown as a finding of its own: in this study it is exactly
    100 % minus another indicator, so it says nothing new."""
    name = indicator_name(indicator, language).lower()
    other = indicator_name(complement_of, language).lower()
    if check_language(language) == "da":
        return (f"Andelen \"{name}\" vises ikke som et fund for sig: i denne undersøgelse er "
                f"den præcis 100 % minus andelen \"{other}\".")
    return (f"The proportion \"{name}\" is not shown as a finding of its own: in this study "
            f"it is exactly 100% minus the proportion \"{other}\".")


NATION: dict[str, str] = {"da": "hele landet", "en": "the whole country"}
"""The nation, as a place in a sentence."""

SYNTHETIC_NOTICE: dict[str, str] = {
    "da": "Syntetiske data: alle tal i denne rapport er beregnet på opdigtede data til "
          "afprøvning af metoden. De siger intet om virkelige personer eller kommuner.",
    "en": "Synthetic data: every figure in this report is computed from made-up data for "
          "trying out the method. They say nothing about real people or kommuner.",
}  # fmt: skip
"""The notice a report shows, visibly, when its data are synthetic."""


def provenance(
    study_id: str,
    protocol_version: str,
    source: str,
    report_date: str,
    drawn: str,
    language: str = "da",
    package_version: str = "",
) -> str:
    """Where the figures come from, as Markdown: the report's date, the data source, the
    protocol's id and version (its fingerprint), the date of the draw."""
    if check_language(language) == "da":
        lines = [f"**Dato:** {report_date}", f"**Datakilde:** {source}",
                 f"**Protokol:** {study_id}, version {protocol_version}",
                 f"**Stikprøven udtrukket:** {drawn}"]  # fmt: skip
        if package_version:
            lines.append(f"**Beregnet med:** stikprove {package_version}")
    else:
        lines = [f"**Date:** {report_date}", f"**Data source:** {source}",
                 f"**Protocol:** {study_id}, version {protocol_version}",
                 f"**Sample drawn:** {drawn}"]  # fmt: skip
        if package_version:
            lines.append(f"**Computed with:** stikprove {package_version}")
    return "  \n".join(lines)


GLOSSARY: dict[str, tuple[tuple[str, str], ...]] = {
    "da": (
        ("Konfidensinterval (KI)",
         "Det interval, som den sande andel i kommunen med 95 % sikkerhed ligger i. Jo færre "
         "personer der er vurderet, jo bredere er intervallet."),
        ("Effektiv stikprøvestørrelse (effektiv n)",
         "Det antal personer i en simpel tilfældig stikprøve, der ville give samme usikkerhed "
         "som den faktiske stikprøve. Den er mindre end antallet af vurderede, når grupperne "
         "er udtrukket med forskellig sandsynlighed."),
        ("NCHS' standard",
         "Regler fra det amerikanske National Center for Health Statistics for, hvornår en "
         "andel er sikker nok til at blive vist: den effektive stikprøvestørrelse skal være "
         "mindst 30, og konfidensintervallet skal være smallere end 30 procentpoint og ikke "
         "for bredt i forhold til andelen. Andre andele udelades."),
        ("Rao–Scotts test",
         "En test af, om andelen er den samme i alle herkomstgrupper, som tager højde for, at "
         "personerne er udtrukket som en stikprøve. En lille p-værdi (under 0,05) tyder på en "
         "reel forskel."),
    ),
    "en": (
        ("Confidence interval (CI)",
         "The interval that holds the true proportion in the kommune with 95% confidence. The "
         "fewer people assessed, the wider the interval."),
        ("Effective sample size (effective n)",
         "The number of people in a simple random sample that would give the same "
         "uncertainty as the actual sample. It is smaller than the number assessed when the "
         "groups were sampled with different probabilities."),
        ("The NCHS standard",
         "Rules of the US National Center for Health Statistics for when a proportion is "
         "reliable enough to show: the effective sample size must be at least 30, and the "
         "confidence interval narrower than 30 percentage points and not too wide relative "
         "to the proportion. Other proportions are withheld."),
        ("Rao–Scott test",
         "A test of whether the proportion is the same in every origin group that allows for "
         "the people being a sample. A small p-value (under 0.05) suggests a real "
         "difference."),
    ),
}  # fmt: skip
"""The report's short glossary, per language: (term, explanation)."""


def glossary(language: str = "da") -> str:
    """The glossary as Markdown, one term a paragraph."""
    return "\n\n".join(f"**{term}.** {text}" for term, text in GLOSSARY[check_language(language)])


SECTIONS: dict[str, dict[str, str]] = {
    "summary": {"da": "Sammenfatning", "en": "Summary"},
    "design": {"da": "Stikprøvens design", "en": "The sample design"},
    "progress": {"da": "Fremdrift i genvurderingen", "en": "Progress of the review"},
    "estimates": {"da": "Resultater pr. gruppe", "en": "Results per group"},
    "comparison": {"da": "Sammenligning af grupper", "en": "Comparison of groups"},
    "bounds": {"da": "Manglende vurderinger", "en": "Missing assessments"},
    "agreement": {"da": "Enighed mellem bedømmere", "en": "Agreement between reviewers"},
    "reliability": {"da": "Pålidelighed og diskretion", "en": "Reliability and confidentiality"},
    "methods": {"da": "Metode og referencer", "en": "Methods and references"},
    "national_estimates": {"da": "Landstal pr. gruppe", "en": "National estimates per group"},
    "funnel": {"da": "Kommunerne mod landstallet", "en": "Kommuner against the national rate"},
    "kommuner": {"da": "Alle kommuner", "en": "All kommuner"},
    "glossary": {"da": "Ordforklaring", "en": "Glossary"},
    "about": {"da": "Om rapporten", "en": "About this report"},
    "region": {"da": "Regionen og hele landet", "en": "The region and the whole country"},
    "model": {"da": "Modelbaserede estimater", "en": "Model-based estimates"},
    "shrinkage": {"da": "Direkte og modelbaserede estimater for alle kommuner",
                  "en": "Direct and model-based estimates for every kommune"},
}

INDICATOR_NAMES: dict[str, dict[str, str]] = {
    "too_ill": {"da": "For syg til beskæftigelsesrettet indsats",
                "en": "Too ill for employment-oriented effort"},
    "misclassified": {"da": "Fritaget af helbredsgrunde, men kan deltage",
                      "en": "Exempted for health reasons but able to take part"},
    "no_effort": {"da": "Ingen tilbud eller mentor det seneste år",
                  "en": "No offer or mentor in the last year"},
}  # fmt: skip

METHODS: dict[str, str] = {
    "da": (
        "Sagerne er udtrukket som en stratificeret simpel tilfældig stikprøve uden "
        "tilbagelægning (strata: {strata}). Andelene er design-baserede "
        "estimater Σ W_h p̂_h med korrektion for endelig population; varians og "
        "frihedsgrader beregnes som i R-pakken survey (Lumley 2010). {interval} "
        "Sager, der ikke kunne vurderes, eller som endnu "
        "ikke er vurderet, udelades inden for deres stratum; grænserne for manglende "
        "vurderinger viser den mindste og største mulige andel. Grupper sammenlignes med "
        "forskel og forhold med intervaller og med Rao–Scotts test. Tal under "
        "{threshold} udelades med komplementær undertrykkelse, og andele, der ikke opfylder "
        "NCHS' præsentationsstandard (Parker m.fl. 2017), udelades eller markeres; "
        "standarden vurderes som i NCHS' eget R-program surveytable på "
        "Korn–Graubard-intervallet med designeffekten sat til mindst 1 (effektiv n højst n), "
        "uanset hvilket interval tabellerne viser. Kommunerne sammenlignes med landstallet i "
        "et tragtdiagram (Spiegelhalter 2005); en kommune markeres som afvigende, når den "
        "ligger uden for den tegnede grænse, som Benjamini–Hochberg-korrektionen for antallet "
        "af kommuner giver (Jones m.fl. 2008)."
    ),
    "en": (
        "Cases were drawn as a stratified simple random sample without replacement (strata: "
        "{strata}). Proportions are design-based estimates Σ W_h p̂_h with the "
        "finite population correction; variances and degrees of freedom are computed as R's "
        "survey package does (Lumley 2010). {interval} Cases that could not be assessed or "
        "are not yet reviewed are dropped within their stratum; the bounds for missing "
        "assessments give the lowest and highest possible proportion. Groups are compared by "
        "difference and ratio with intervals and by the Rao–Scott test. Counts under "
        "{threshold} are suppressed with complementary suppression, and proportions that "
        "fail the NCHS presentation standard (Parker et al. 2017) are suppressed or flagged; "
        "the standard is checked as NCHS's own R package surveytable checks it, on the "
        "Korn–Graubard interval with the design effect floored at 1 (effective n at most n), "
        "whichever interval the tables show. Kommuner are compared with the national rate in "
        "a funnel plot (Spiegelhalter 2005); a kommune is flagged as differing when it lies "
        "outside the drawn limit, which the Benjamini–Hochberg correction for the number of "
        "kommuner gives (Jones et al. 2008)."
    ),
}
"""The methods paragraph; ``{interval}`` is the sentence of :data:`INTERVAL_METHODS`."""

INTERVAL_METHODS: dict[str, dict[str, str]] = {
    "pooled-hypergeometric": {
        "da": "Konfidensintervallerne er for en gruppe inden for ét stratum det eksakte "
              "hypergeometriske interval (Wright 1991) og for en gruppe på tværs af strata "
              "Korn–Graubards interval (Korn & Graubard 1998) på en varians, hvor et stratum "
              "med højst én hændelse eller ikke-hændelse låner gruppens andel; metoden er "
              "valgt ved et simulationsstudie af små kommuners design, fordi R's "
              "Korn–Graubard-interval dækker for sjældent i små grupper med sjældne udfald.",
        "en": "Confidence intervals are, for a group within one stratum, the exact "
              "hypergeometric interval (Wright 1991) and, for a group across strata, the "
              "Korn–Graubard interval (Korn & Graubard 1998) on a variance in which a stratum "
              "with at most one event or non-event borrows the group's rate; the method was "
              "chosen by a simulation study of small kommuner's designs, because R's "
              "Korn–Graubard interval covers too rarely in small groups with rare outcomes.",
    },
    "korn-graubard": {
        "da": "Konfidensintervallerne er Korn–Graubards (Korn & Graubard 1998; NCHS' "
              "standard), som i R-pakken survey (svyciprop, method = \"beta\").",
        "en": "Confidence intervals are Korn–Graubard intervals (Korn & Graubard 1998; the "
              "NCHS standard), as R's survey package computes them (svyciprop, "
              "method = \"beta\").",
    },
    "korn-graubard-deff1": {
        "da": "Konfidensintervallerne er Korn–Graubards (Korn & Graubard 1998) med "
              "designeffekten sat til mindst 1, som NCHS beregner dem (Parker m.fl. 2017).",
        "en": "Confidence intervals are Korn–Graubard intervals (Korn & Graubard 1998) with "
              "the design effect floored at 1, as NCHS computes them (Parker et al. 2017).",
    },
    "logit": {
        "da": "Konfidensintervallerne er design-baserede logit-intervaller.",
        "en": "Confidence intervals are design-based logit intervals.",
    },
    "wald": {
        "da": "Konfidensintervallerne er design-baserede Wald-intervaller (estimat ± t · "
              "standardfejl).",
        "en": "Confidence intervals are design-based Wald intervals (estimate ± t × "
              "standard error).",
    },
    "wilson": {
        "da": "Konfidensintervallerne er Wilsons score-intervaller på den effektive "
              "stikprøvestørrelse.",
        "en": "Confidence intervals are Wilson score intervals on the effective sample size.",
    },
    "jeffreys": {
        "da": "Konfidensintervallerne er Jeffreys' intervaller på den effektive "
              "stikprøvestørrelse.",
        "en": "Confidence intervals are Jeffreys intervals on the effective sample size.",
    },
    "hypergeometric": {
        "da": "Konfidensintervallerne er eksakte hypergeometriske intervaller (Wright 1991) "
              "for grupper inden for ét stratum.",
        "en": "Confidence intervals are exact hypergeometric intervals (Wright 1991) for "
              "groups within one stratum.",
    },
}  # fmt: skip
"""The methods section's sentence on the confidence intervals, per interval method: the
report says which interval its tables show (the protocol's, or the ``interval_method``
parameter)."""

REFERENCES = (
    "Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small "
    "expected number of positive counts estimated from survey data. Survey Methodology 24, "
    "193–201.",
    "Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.",
    "Parker, J. D., Talih, M., Malec, D. J., et al. (2017). National Center for Health "
    "Statistics Data Presentation Standards for Proportions. Vital Health Stat 2(175).",
    "Rao, J. N. K. & Scott, A. J. (1984). On chi-squared tests for multiway contingency "
    "tables with cell proportions estimated from survey data. Annals of Statistics 12, 46–60.",
    "Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance. "
    "Statistics in Medicine 24, 1185–1202.",
    "Jones, H. E., Ohlssen, D. I. & Spiegelhalter, D. J. (2008). Use of the false discovery "
    "rate when comparing the performance of healthcare providers. Quality and Safety in "
    "Health Care 17, 112–118.",
    "Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and "
    "Psychological Measurement 20, 37–46.",
    "Wright, T. (1991). Exact Confidence Bounds when Sampling from Small Finite Universes. "
    "Lecture Notes in Statistics 66. Springer.",
)


def section(key: str, language: str = "da") -> str:
    """A section heading as Markdown."""
    return f"## {SECTIONS[key][check_language(language)]}"


def indicator_name(indicator: str, language: str = "da") -> str:
    return INDICATOR_NAMES.get(indicator, {}).get(language, indicator)


def methods(
    language: str = "da",
    threshold: int = 5,
    interval_method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
    strata: Sequence[str] = ("kommune_code", "sex", "origin"),
) -> str:
    """The methods paragraph and the references, as Markdown: the strata, the interval
    method the report's tables show (its own sentence) and the disclosure threshold.

    >>> "Wright 1991" in methods("en"), "Wright 1991" in methods("en", 5, "korn-graubard")
    (True, False)
    """
    language = check_language(language)
    method = canonical_method(interval_method)
    if method not in INTERVAL_METHODS:
        raise StikproveError(
            f"interval method must be one of {', '.join(INTERVAL_METHODS)}; got {method!r}"
        )
    names = [column_label("kommune_name" if c == "kommune_code" else c, language).lower()
             for c in strata if c != "stratum"]  # fmt: skip
    text = METHODS[language].format(
        threshold=threshold, interval=INTERVAL_METHODS[method][language],
        strata=" × ".join(names) or "–",
    )  # fmt: skip
    refs = "\n".join(f"- {r}" for r in REFERENCES)
    return text + "\n\n" + refs


def _missing(value: object) -> bool:
    try:
        return value is None or not math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def comparison_sentence(row: Mapping[str, object] | None, language: str = "da",
                        threshold: int = 5, confidence_level: float = 0.95) -> str:  # fmt: skip
    """The difference of two groups with its interval (at ``confidence_level``, the level the
    comparison was computed at) and p-value, in words."""
    if row is None or _missing(row.get("difference")):
        return ("Forskellen mellem grupperne kan ikke vises (for få personer)." if language == "da"
                else "The difference between the groups cannot be shown (too few people).")
    first, second = group_label(row["first"], language), group_label(row["second"], language)
    diff = float(row["difference"])  # type: ignore[arg-type]
    low = float(row["ci_low_difference"])  # type: ignore[arg-type]
    high = float(row["ci_high_difference"])  # type: ignore[arg-type]
    p = float(row["p_value"])  # type: ignore[arg-type]
    points = lambda v: number(100 * v, language, 0)  # noqa: E731
    level = percent(confidence_level, language)
    if language == "da":
        return (f"Forskellen mellem {first} og {second} er {points(diff)} procentpoint "
                f"({level}-KI {points(low)} til {points(high)}; p = {number(p, language, 3)}).")
    return (f"The difference between {first} and {second} is {points(diff)} percentage points "
            f"({level} CI {points(low)} to {points(high)}; p = {number(p, language, 3)}).")


def test_sentence(row: Mapping[str, object] | None, language: str = "da") -> str:
    """The Rao–Scott test across origins, in words."""
    if row is None or _missing(row.get("p_value")):
        return ("Testen for ens andele på tværs af herkomst kan ikke beregnes her."
                if language == "da" else "The test of equal rates across origins cannot be "
                "computed here.")
    p = number(float(row["p_value"]), language, 3)  # type: ignore[arg-type]
    if language == "da":
        return f"Rao–Scotts test for ens andele på tværs af herkomstgrupper: p = {p}."
    return f"Rao–Scott test of equal rates across origin groups: p = {p}."


def bounds_sentence(row: Mapping[str, object], language: str = "da") -> str:
    """The worst/best-case bounds for missing outcomes, in words, with the number of eligible
    cases that could not be assessed (``n_missing``) when it is shown."""
    low, high = row.get("estimate_missing_as_0"), row.get("estimate_missing_as_1")
    if _missing(low) or _missing(high):
        return ("Grænserne kan ikke vises (for få personer)." if language == "da"
                else "The bounds cannot be shown (too few people).")
    lo, hi = percent(float(low), language), percent(float(high), language)  # type: ignore[arg-type]
    count = row.get("n_missing")
    if language == "da":
        lead = ("" if _missing(count) else
                f"{int(count)} berettigede personer kunne ikke vurderes eller mangler endnu "  # type: ignore[arg-type]
                "vurdering (personer uden for målgruppen tæller ikke med). ")
        return (f"{lead}Regnes alle manglende vurderinger som nej, bliver andelen {lo}; "
                f"regnes de som ja, bliver den {hi}.")
    lead = ("" if _missing(count) else
            f"{int(count)} eligible persons could not be assessed or are not yet reviewed "  # type: ignore[arg-type]
            "(persons found outside the target group are not counted). ")
    return f"{lead}Counting every missing assessment as no gives {lo}; as yes, {hi}."


def agreement_sentence(row: Mapping[str, object], language: str = "da",
                       threshold: int = 5, confidence_level: float = 0.95) -> str:  # fmt: skip
    """Cohen's kappa of the double reviews with its interval (at ``confidence_level``), in
    words (or why it is not shown)."""
    kappa = row.get("kappa")
    if _missing(kappa):
        return (f"Færre end {threshold} dobbeltvurderede sager med to vurderinger, eller "
                "enigheden kan ikke beregnes." if language == "da" else
                f"Fewer than {threshold} double-reviewed cases with both reviews, or the "
                "agreement cannot be computed.")
    k = number(float(kappa), language, 2)  # type: ignore[arg-type]
    low = number(float(row["ci_low"]), language, 2)  # type: ignore[arg-type]
    high = number(float(row["ci_high"]), language, 2)  # type: ignore[arg-type]
    agree = number(float(row["percent_agreement"]), language, 0)  # type: ignore[arg-type]
    level = percent(confidence_level, language)
    if language == "da":
        return (f"De to bedømmere var enige i {agree} % af de dobbeltvurderede sager "
                f"(Cohens kappa {k}, {level}-KI {low} til {high}).")
    return (f"The two reviewers agreed on {agree}% of double-reviewed cases (Cohen's kappa {k}, "
            f"{level} CI {low} to {high}).")


# ---- preliminary results while the review is running (stikprove.reports.interim) ----------

INTERIM_LABEL: dict[str, str] = {
    "da": "Foreløbige resultater, gyldige uanset hvor ofte der kigges",
    "en": "Preliminary results, valid however often they are looked at",
}
"""The heading of a report's interim section."""


def interim_section(language: str = "da") -> str:
    """The interim section's heading as Markdown."""
    return f"## {INTERIM_LABEL[check_language(language)]}"


def _count(value: int | None, language: str, threshold: int) -> str:
    if value is None or 1 <= value < threshold:  # suppressed (docs/reports.md)
        return f"færre end {threshold}" if language == "da" else f"fewer than {threshold}"
    return number(value, language)


def interim_sentence(analysed: int | None, waiting: int | None, language: str = "da",
                     confidence_level: float = 0.95, threshold: int = 5) -> str:  # fmt: skip
    """What the preliminary results rest on, in words: how many cases are analysed, how many
    reviewed cases wait on an earlier case, and why the intervals stay valid. A count from 1
    to threshold − 1, or None (suppressed before), is written "færre end 5" / "fewer than 5".

    >>> interim_sentence(40, 3, "en")[:82]
    'The review is not finished: at least 40 cases are analysed so far, and fewer than '
    """
    language = check_language(language)
    level = percent(confidence_level, language)
    n, w = _count(analysed, language, threshold), _count(waiting, language, threshold)
    # while the waiting cases are suppressed, the analysed ones come rounded down to a multiple
    # of the threshold (reports.interim.interim_progress): a lower bound
    rounded = analysed is not None and analysed >= threshold and (
        waiting is None or 1 <= waiting < threshold)  # fmt: skip
    at_least = ("mindst " if language == "da" else "at least ") if rounded else ""
    if language == "da":
        return (
            f"Genvurderingen er ikke afsluttet: {at_least}{n} sager er analyseret indtil nu, "
            f"og {w} "
            "vurderede sager venter på en tidligere sag i deres stratums liste. Hvert stratum "
            "analyseres i den tilfældige rækkefølge, sagerne blev udtrukket i, så langt alle "
            f"sager fra toppen af listen er vurderet. Intervallerne er {level}-"
            "konfidenssekvenser (Waudby-Smith & Ramdas 2020): de holder samtidig ved hvert "
            "kig, så tallene kan følges, efterhånden som vurderingerne kommer ind. De er "
            "bredere end de endelige konfidensintervaller, som afløser dem, når alle "
            "udtrukne sager er vurderet."
        )
    return (
        f"The review is not finished: {at_least}{n} cases are analysed so far, and {w} "
        "reviewed cases "
        "wait on an earlier case of their stratum's list. Each stratum is analysed in the "
        "random order its cases were drawn in, as far as every case from the top of the list "
        f"is reviewed. The intervals are {level} confidence sequences (Waudby-Smith & Ramdas "
        "2020): they hold at every look at once, so the figures can be followed as the "
        "reviews come in. They are wider than the final confidence intervals, which replace "
        "them once every sampled case is reviewed."
    )


# ---- the design explorer (stikprove.reports.design_explorer) --------------------------------

DESIGN_SECTIONS: dict[str, dict[str, str]] = {
    "precision": {"da": "Præcision mod stikprøvestørrelse", "en": "Precision against sample size"},
    "allocations": {"da": "Protokollens fordeling og alternativerne",
                    "en": "The protocol's allocation and the alternatives"},
    "hours": {"da": "Lægetimer og hvad de køber", "en": "Physician hours and what they buy"},
    "publishable": {"da": "Hvilke grupper kan offentliggøres?",
                    "en": "Which groups can be published?"},
}  # fmt: skip


def design_section(key: str, language: str = "da") -> str:
    """A heading of the design explorer as Markdown."""
    return f"## {DESIGN_SECTIONS[key][check_language(language)]}"


def design_explorer_title(title: str, study_id: str, language: str = "da") -> str:
    """The design explorer's heading, naming the protocol."""
    if check_language(language) == "da":
        return f"Designudforsker: {title} (protokol {study_id})"
    return f"Design explorer: {title} (protocol {study_id})"


def design_explorer_intro(
    reviews: int, allocation: str, margin: float | None, anticipated: float, level: float,
    language: str = "da",
) -> str:
    """What the design explorer shows and how to read it."""
    rate, conf = percent(anticipated, language), percent(level, language)
    if check_language(language) == "da":
        goal = (f"Protokollen sigter mod et {conf}-konfidensinterval på højst ±"
                f"{number(100 * margin, language)} procentpoint for hver gruppe "
                "(den stiplede linje). " if margin else "")
        return (f"Før stikprøven udtrækkes: hvor mange personer skal genvurderes, og hvor "
                f"sikre bliver tallene? Protokollen fordeler {reviews} genvurderinger "
                f"({column_label(allocation, language).lower()} fordeling) og regner med, at "
                f"{rate} er for syge. {goal}"
                "Kurverne viser, hvor bredt intervallet forventes at blive for hver "
                "herkomstgruppe, jo flere personer der udtrækkes; prikken markerer, fra hvilken "
                "stikprøvestørrelse gruppens andel kan offentliggøres efter NCHS' standard "
                "(effektiv stikprøvestørrelse mindst 30, interval smallere end 30 procentpoint "
                "og højst 130 % af andelen). Tabellerne sammenligner protokollens fordeling med "
                "tre alternativer af samme antal og viser lægetimerne og, gruppe for gruppe, "
                "om tallet vil kunne offentliggøres.")
    goal = (f"The protocol aims at a {conf} confidence interval of at most ±"
            f"{number(100 * margin, language)} percentage points for each group (the dashed "
            "line). " if margin else "")
    return (f"Before the sample is drawn: how many people must be re-assessed, and how sure "
            f"will the figures be? The protocol shares out {reviews} re-assessments "
            f"({column_label(allocation, language).lower()} allocation) and expects {rate} "
            f"to be too ill. {goal}"
            "The curves show how wide the interval is expected to be for each origin group "
            "as more people are sampled; the dot marks the sample size from which the group's "
            "proportion can be published under the NCHS standard (effective sample size at "
            "least 30, interval narrower than 30 percentage points and at most 130% of the "
            "proportion). The tables compare the protocol's allocation with three "
            "alternatives of the same size and give the physician hours and, group by group, "
            "whether the figure will be publishable.")


def unpublishable_warning(groups: Sequence[str], total: int, language: str = "da") -> str:
    """The design explorer's warning naming the groups whose rate the plan will not let a
    report publish (NCHS); "" when every group will be publishable."""
    if not groups:
        return ""
    named = ", ".join(groups)
    if check_language(language) == "da":
        return (f"**Advarsel:** {len(groups)} af {total} grupper kan ikke offentliggøres med den "
                f"planlagte stikprøve (NCHS' standard): {named}. Rapporterne vil udelade "
                "deres andele. Øg stikprøven til det antal, tabellen nedenfor viser; en gruppe "
                "med færre end 30 personer kan kun vises lagt sammen med andre.")
    return (f"**Warning:** {len(groups)} of {total} groups cannot be published with the planned "
            f"sample (the NCHS standard): {named}. The reports will withhold their "
            "proportions. Enlarge the sample to the size the table below gives; a group of "
            "fewer than 30 people can only be shown combined with others.")
