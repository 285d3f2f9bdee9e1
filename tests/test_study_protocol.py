"""One reader of a study's settings (issue 21, item 6): ``Study.protocol`` is the stored
protocol parsed by the protocol module into its frozen Protocol, and every reader (reports,
interim analyses, the release, the commands) takes its settings from it. A stored setting
that cannot be read stops with an error naming the study, the setting, its value and what
was expected; it never becomes a default."""

import re

import pytest

from stikprove.cli import main
from stikprove.errors import ProtocolError, StoreError
from stikprove.estimation.interim import interim_settings, stopping_plan
from stikprove.protocol import Protocol, parse_protocol, setting_default
from stikprove.store import create_study, open_study
from store_fixtures import make_sample, make_study, protocol_text, tamper_protocol


def test_study_protocol_is_the_protocol_modules_reading(tmp_path):
    """study.protocol is what parse_protocol makes of the stored text, read once per text."""
    text = protocol_text(precision={"confidence_level": "0.9", "interval_method": '"wilson"'},
                         review={"disclosure_threshold": "10"})  # fmt: skip
    study = make_study(tmp_path, protocol_text=text)
    protocol = study.protocol
    assert isinstance(protocol, Protocol)
    assert (protocol.confidence_level, protocol.interval_method, protocol.disclosure_threshold,
            protocol.title) == (0.9, "wilson", 10, "Testundersøgelse")  # fmt: skip
    assert protocol.fingerprint == parse_protocol(text).fingerprint
    assert open_study(study.path).protocol is protocol  # parsed once, not per reader
    assert interim_settings(protocol).confidence_level == 0.9


def test_a_key_left_out_takes_the_protocol_modules_default(tmp_path):
    """A stored protocol written before a key existed: the key's one default
    (protocols/README.md, setting_default); a deprecated method name gets its new name."""
    text = protocol_text(precision={"interval_method": '"exact"'})
    protocol = make_study(tmp_path, protocol_text=text).protocol
    assert protocol.disclosure_threshold == setting_default("review", "disclosure_threshold") == 5
    assert protocol.confidence_level == setting_default("precision", "confidence_level")
    assert protocol.interval_method == "hypergeometric"
    with pytest.raises(ProtocolError, match=r"\[study\] id: required, it has no default"):
        setting_default("study", "id")


REFUSED = [
    ("review", "disclosure_threshold", '"five"', "'five'", "a whole number >= 1"),
    ("review", "disclosure_threshold", "-3", "-3", "a whole number >= 1"),
    ("review", "disclosure_threshold", "2.5", "2.5", "a whole number >= 1"),
    ("precision", "confidence_level", "95", "95", r"a number in \[0.5, 1\)"),
    ("precision", "interval_method", '"wald2"', "'wald2'", "one of pooled-hypergeometric, wald"),
    ("review", "worklist_fields", '"age"', "'age'", "a list of distinct frame column names"),
]


@pytest.mark.parametrize(("section", "key", "stored", "shown", "expected"), REFUSED)
def test_a_stored_setting_that_cannot_be_read_is_refused(tmp_path, section, key, stored, shown,
                                                         expected):  # fmt: skip
    """The stored value tampered with in the study file: study.protocol names the study
    file and round, the setting, its value and what was expected; no default is taken."""
    study = make_study(tmp_path)
    tamper_protocol(study, protocol_text(**{section: {key: stored}}))
    with pytest.raises(ProtocolError) as caught:
        study.protocol  # noqa: B018
    message = str(caught.value)
    assert message.startswith(f"study {study.path} (round 1): its stored protocol has 1 problem")
    assert re.search(rf"\[{section}\] {key} = {re.escape(shown)}: expected {expected}", message)
    assert "not replaced by a default" in message


def test_a_stored_text_that_is_no_protocol_is_refused(tmp_path):
    """A fragment or broken TOML where the protocol was: refused, each missing part named."""
    study = make_study(tmp_path)
    tamper_protocol(study, 'study_id = "test-study"\ndisclosure_threshold = 3\n')
    with pytest.raises(ProtocolError, match=r"missing section \[frame\]"):
        study.protocol  # noqa: B018
    tamper_protocol(study, "[review\n")
    with pytest.raises(ProtocolError, match=rf"study {re.escape(str(study.path))} \(round 1\): "
                                            "its stored protocol: not valid TOML"):  # fmt: skip
        study.protocol  # noqa: B018


def test_every_reader_stops_on_an_unreadable_threshold(tmp_path, capsys):
    """disclosure_threshold = "five" in the stored protocol: the report's data, the interim
    plan, the release and `estimate` all stop with the error naming it (none shows counts
    under a threshold of 5 taken in its place)."""
    from stikprove.release.release import study_release
    from stikprove.reports.content import load_study

    study = make_study(tmp_path)
    tamper_protocol(study, protocol_text(review={"disclosure_threshold": '"five"'}))
    named = r"\[review\] disclosure_threshold = 'five': expected a whole number >= 1"
    for read in (load_study, study_release, lambda p: stopping_plan(open_study(p))):
        with pytest.raises(ProtocolError, match=named):
            read(study.path)
    assert main(["estimate", str(study.path), "--outcome", "too_ill"]) != 0
    assert re.search(named, capsys.readouterr().err)


def test_a_sample_whose_protocol_cannot_be_read_is_not_stored(tmp_path):
    """The store keeps only a protocol its readers can read: refused when stored, nothing
    written."""
    sample = make_sample(protocol_text=protocol_text(review={"disclosure_threshold": "0"}))
    path = tmp_path / "s.sqlite"
    with pytest.raises(ProtocolError, match=r"disclosure_threshold = 0: expected a whole number"):
        create_study(path, sample)
    assert not path.exists()
    with pytest.raises(StoreError):
        open_study(path)


def test_each_round_is_read_with_its_own_protocol(tmp_path):
    """A second round drawn from a protocol with another threshold: the study (latest
    round) reads 8, round 1 still reads its 5; the parse kept for one is not the other's."""
    from dataclasses import replace

    from stikprove.store import add_round
    from store_fixtures import next_round

    first = make_sample()
    study = create_study(tmp_path / "s.sqlite", first, reviewers=["anna", "bo"])
    assert study.protocol.disclosure_threshold == 5
    second = replace(next_round(first),
                     protocol_text=protocol_text(review={"disclosure_threshold": "8"}))  # fmt: skip
    add_round(study.path, second)
    assert study.protocol.disclosure_threshold == 8
    assert study.for_round(1).protocol.disclosure_threshold == 5
