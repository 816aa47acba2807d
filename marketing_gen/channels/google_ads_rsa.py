"""Google Ads responsive search ad: 3–15 headlines ≤ 30, 2–4 descriptions ≤ 90, paths ≤ 15.

Google rejects over-length assets rather than truncating them, so the limits are hard.
"""

import re

from marketing_gen.channels.base import ChannelSpec, FieldSpec
from marketing_gen.titles import short_name

SPEC = ChannelSpec(
    headline_field="headlines",
    name="google_ads_rsa",
    fields=(
        FieldSpec(
            "headlines",
            kind="list",
            max_len=30,
            min_count=3,
            max_count=15,
            tag="HEADLINE",
            numbered=True,
            hint="short headline, at most 30 characters",
        ),
        FieldSpec(
            "descriptions",
            kind="list",
            max_len=90,
            min_count=2,
            max_count=4,
            tag="DESCRIPTION",
            numbered=True,
            hint="one sentence, at most 90 characters",
        ),
        FieldSpec("path1", max_len=15, required=False, hint="one word for the display URL path"),
        FieldSpec("path2", max_len=15, required=False, hint="one word for the display URL path"),
    ),
    prompt_template="prompts/google_ads_rsa.j2",
    fallback_template="fallback/google_ads_rsa.j2",
    render_target="google_ads_csv",
    description="a Google responsive search ad",
    max_new_tokens=200,
    consent_flag="ads",
    per_user=False,
)


def _slug(text: str) -> str:
    word = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
    return word[:15].rstrip("-")


def display_paths(title: str, category: str | None) -> tuple[str, str]:
    """The ad's two display URL paths for its item: the category's first word (or "shop") and the short name's
    first word ("shop/Kneeling" of a Kneeling Pad in Garden), the second left empty when it is the first again.

    The teacher's rule, and the paths the copywriter serves (``Settings.fixed_paths``): paths are a URL's
    decoration, not copy, and the model's own ("Cela", "The", "Cost", "Picked") named nothing of the item."""
    words, short = (category or "").split(), short_name(title).split()
    path1 = (_slug(words[0]) if words else "") or "shop"
    path2 = _slug(short[0]) if short else ""
    return path1, path2 if path2.lower() != path1.lower() else ""
