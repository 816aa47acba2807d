"""SMS encoding and segment counting (GSM-7 septets with the extension table, UCS-2 code units)."""

from __future__ import annotations

import pytest

from marketing_gen.channels.sms import OPT_OUT, finalize_text, has_opt_out, is_gsm7, non_gsm_chars, septets, sms_info


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension table: two septets each
        ("[" * 81, "GSM-7", 162, 2),
        ("£¥èÄñ@" * 10, "GSM-7", 60, 1),  # basic table, one septet each
        ("ç" + "a" * 69, "UCS-2", 70, 1),  # ç (lower case) is not GSM-7
        ("ç" + "a" * 70, "UCS-2", 71, 2),
        ("a" * 134 + "ş", "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
        ("你好" * 20, "UCS-2", 40, 1),
        ("", "GSM-7", 0, 1),
    ],
)
def test_encoding_units_segments(text: str, encoding: str, units: int, segments: int) -> None:
    info = sms_info(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_extension_table_counts_double() -> None:
    assert septets("^{}[]~\\|€") == 18
    assert is_gsm7("^{}[]~\\|€")


def test_non_gsm_chars_named_once_in_order() -> None:
    assert non_gsm_chars("a😀bçç") == ["😀", "ç"]


def test_finalize_adds_brand_and_opt_out_once() -> None:
    text = finalize_text("New mugs are in", "Acme")
    assert text.startswith("Acme: ")
    assert text.endswith(OPT_OUT)
    assert finalize_text(text, "Acme") == text
    kept = finalize_text("acme has new mugs. reply stop to opt out", "Acme")
    assert kept == "acme has new mugs. reply stop to opt out"
    assert has_opt_out(kept)


def test_curly_quotes_and_dashes_stay_one_gsm7_segment() -> None:
    typed = "Acme: “Cosy” mugs are back – our ‘best’ picks… 12\u00a0cm wide. Reply STOP to opt out"
    assert sms_info(typed).encoding == "UCS-2"  # as typed: one curly quote makes the whole message UCS-2
    final = finalize_text(typed, "Acme")
    info = sms_info(final)
    assert (info.encoding, info.segments) == ("GSM-7", 1)
    assert final == "Acme: \"Cosy\" mugs are back - our 'best' picks... 12 cm wide. Reply STOP to opt out"
    long_typed = "Acme: “" + "x" * 100 + "” – Reply STOP to opt out"  # 130 chars: 2 UCS-2 segments as typed
    assert sms_info(long_typed).segments == 2
    assert sms_info(finalize_text(long_typed, "Acme")).segments == 1


def test_to_gsm7_maps_every_listed_character_into_gsm7() -> None:
    from marketing_gen.channels.sms import GSM7_EQUIVALENTS, to_gsm7

    assert is_gsm7(to_gsm7("".join(GSM7_EQUIVALENTS)))
    assert to_gsm7("„Hallo“ – «salut» — ok…") == '"Hallo" - "salut" - ok...'


@pytest.mark.parametrize(
    ("locale", "keyword"),
    [("en-GB", "STOP"), ("de-DE", "STOP"), ("fr-FR", "ARRET"), ("es", "BAJA"), ("nl", "STOP"), ("it", "STOP"),
     ("pt-BR", "SAIR"), ("pl", "STOP"), ("sv", "STOPP"), ("ja", "STOP"), ("xx", "STOP")],
)  # fmt: skip
def test_localized_opt_out_line_is_appended_counted_and_fits(locale: str, keyword: str) -> None:
    from marketing_gen.channels.sms import opt_out_line

    line = opt_out_line(locale)
    assert keyword in line
    text = finalize_text("New mugs are in", "Acme", locale)
    assert text.endswith(line) and has_opt_out(text, locale)
    assert finalize_text(text, "Acme", locale) == text  # idempotent
    info = sms_info(text)
    assert info.segments == 1  # the localized line is part of what is counted
    if locale != "ja":
        assert info.encoding == "GSM-7", (locale, non_gsm_chars(text))  # Latin-script lines never force UCS-2
    if not locale.startswith("en") and locale != "xx":
        assert not has_opt_out(text, "en")  # the English line is not what a German SMS carries
