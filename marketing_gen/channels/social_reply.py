"""Social reply: one public reply to a comment or DM, ≤ 280 characters.

The spec holds the shape the guardrails check and render reads; the replies themselves are written by
``marketing_gen.replies`` (triage, one prompt per intent, reply policy), so the channel has no copywriter templates.
"""

from marketing_gen.channels.base import ChannelSpec, FieldSpec

SPEC = ChannelSpec(
    name="social_reply",
    fields=(FieldSpec("text", max_len=280, hint="the reply, one to three sentences"),),
    prompt_template="",  # written by marketing_gen.replies (replies.candidates.build_reply_prompt), not the copywriter
    fallback_template="",
    render_target="social_reply",
    description="a reply on the brand's social channels",
    max_new_tokens=96,
)
