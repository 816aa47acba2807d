"""Google Ads responsive search ad: 3–15 headlines ≤ 30, 2–4 descriptions ≤ 90, paths ≤ 15.

Google rejects over-length assets rather than truncating them, so the limits are hard.
"""

from marketing_gen.channels.base import ChannelSpec, FieldSpec

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
