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
