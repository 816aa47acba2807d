"""Social reply: one public reply to a comment or DM, ≤ 280 characters."""

from marketing_gen.channels.base import ChannelSpec, FieldSpec

SPEC = ChannelSpec(
    name="social_reply",
    fields=(FieldSpec("text", max_len=280, hint="the reply, one to three sentences"),),
    prompt_template="prompts/social_reply.j2",
    fallback_template="fallback/social_reply.j2",
    render_target="social_reply",
    description="a reply on the brand's social channels",
    max_new_tokens=96,
)
