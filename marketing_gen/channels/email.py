"""Email copy: subject (≤ 60 visible), preheader (35–100), headline, body, call to action."""

from marketing_gen.channels.base import ChannelSpec, FieldSpec

SPEC = ChannelSpec(
    headline_field="subject",
    name="email",
    fields=(
        FieldSpec("subject", max_len=60, hint="subject line"),
        FieldSpec("preheader", max_len=100, soft_min_len=35, hint="preview text shown after the subject"),
        FieldSpec("headline", max_len=70, hint="headline at the top of the email"),
        FieldSpec("body", max_len=600, hint="two or three short sentences"),
        FieldSpec("cta", max_len=25, hint="button text"),
    ),
    prompt_template="prompts/email.j2",
    fallback_template="fallback/email.j2",
    render_target="email_mime",
    description="a personalized marketing email",
    max_new_tokens=160,
    consent_flag="email",
    address="email",
)
