"""Meta (Facebook/Instagram) ad: primary text ≤ 125, headline ≤ 40, description ≤ 30 (truncated beyond)."""

from marketing_gen.channels.base import ChannelSpec, FieldSpec

SPEC = ChannelSpec(
    headline_field="headline",
    name="meta_ad",
    fields=(
        # PRIMARY_TEXT, not TEXT: an SMS answers "TEXT:", and a small model that starts both the same way wrote
        # SMS copy (with the customer's name, no headline) for Meta prompts; TEXT is still read (older models).
        FieldSpec("primary_text", max_len=125, aliases=("TEXT",), hint="the ad text, one or two sentences"),
        FieldSpec("headline", max_len=40, hint="short headline"),
        FieldSpec("description", max_len=30, hint="a few words under the headline"),
    ),
    prompt_template="prompts/meta_ad.j2",
    fallback_template="fallback/meta_ad.j2",
    render_target="meta_ad",
    description="a Facebook and Instagram ad",
    max_new_tokens=120,
    consent_flag="ads",
    per_user=False,
)
