"""Triage of an incoming comment / DM: what kind of message it is, whether to escalate, injection flags.

Owns the rule lexicons (regular expressions). Does not generate anything: ``suggest`` asks triage first and
skips the model for messages that need a person (abusive, legal / safety) or deserve no reply (spam).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from marketing_gen.replies.safety_abuse import detect_abuse
from marketing_gen.replies.safety_injection import detect_injection_kinds
from marketing_gen.replies.safety_text import views

CATEGORIES: tuple[str, ...] = (
    "question",
    "praise",
    "complaint",
    "purchase_intent",
    "spam",
    "abusive",
    "legal_safety",
    "other",
)
"""Every category triage returns (``other``: nothing matched)."""

ESCALATE: frozenset[str] = frozenset({"abusive", "legal_safety"})
"""Categories a person must handle: no suggestions, ``escalate: true``."""

NO_SUGGESTIONS: frozenset[str] = ESCALATE | {"spam"}
"""Categories that get no suggestions at all."""


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Legal / safety beyond self-harm and threats (those live in ``safety_abuse``, six languages): named
# sub-reasons, first match wins; the code (second field) is ``Triage.reason_code``.
_LEGAL_SAFETY: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (
        "legal claim",
        "legal_claim",
        _rx(
            r"\b(my|our) (lawyer|attorney|solicitor)s?\b",
            r"\b(call|contact|get|hire|speak to|talk to|talking to|consult) (a|an|my) (lawyer|attorney|solicitor)\b",
            r"\bsu(e|ing) (you|u|them)\b",
            r"\b(law ?suit|legal action|class action|small claims|take (you|this) to court|see you in court)\b",
            r"\b(report(ing)? (you|this) to (the )?)(ftc|fcc|cfpb|attorney general|trading standards|police)\b",
        ),
    ),
    (
        "data request",
        "data_request",
        _rx(
            r"\bgdpr\b",
            r"\bccpa\b",
            r"\b(subject access request|dsar|right to be forgotten|right to erasure)\b",
            r"\bdelete (all )?my (personal )?(data|information|info)\b",
            r"\b(what|which) (personal )?(data|information) (do )?you (have|hold|store|keep) (on|about) me\b",
            r"\b(data breach|my data (was|has been|got) (leaked|stolen|hacked))\b",
        ),
    ),
    (
        "product safety",
        "product_safety",
        _rx(
            r"\b(caught|catch|burst into|went up in) (on )?(fire|flames)\b",
            r"\b(exploded|electrocuted|electric shock)\b",
            r"\b(burn(ed|t) (me|my|her|him)|injur(ed|y)|hospitali[sz]ed)\b",
            r"\b(ended up|went|taken|rushed) (in|to) (the )?(hospital|er|a&e)\b",
            r"\b(food poisoning|allergic reaction|choking hazard)\b",
        ),
    ),
)

_SPAM = _rx(
    r"\b(follow (me|back)|follow for follow|f4f|check (out )?my (page|profile|channel|bio|store|link))\b",
    r"\b(click (here|the link|link in bio)|link in (my )?bio)\b",
    r"\b(crypto|bitcoin|btc|forex|nft|airdrop|onlyfans)\b",
    r"\b(earn|make) \$?\d+[k]?\b.{0,20}\b(day|week|daily|weekly|from home)\b",
    r"\b(work from home|passive income|get rich|free followers|buy followers|cheap followers)\b",
    r"\b(whatsapp|telegram)\s*(me|us|\+?\d)",
    r"\b(dm (me )?for (promo|collab|business|shoutout))\b",
)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)

_COMPLAINT = _rx(
    r"\b(worst|terrible|awful|horrible|horrendous|disgusting|pathetic|ridiculous|unacceptable|appalling)\b",
    r"\b(disappoint\w*|frustrat\w*|annoy\w*|angry|furious|upset|fed up|sick of|tired of)\b",
    r"\b(broken|broke|not working|doesn'?t work|does not work|won'?t (work|load|open|start|turn on|connect))\b",
    r"\b(stopped working|keeps? (crashing|freezing|failing|dropping)|crash(ed|es|ing)?|froze|freez(es|ing))\b",
    r"\b(never (arrived|came|received|got)|still (no|not|waiting|haven'?t|hasn'?t)|hasn'?t arrived)\b",
    r"\b(late|delay(ed|s)?|cancell?ed|overcharg\w*|double charged|charged (me )?twice|wrong (item|order|size))\b",
    r"\b(missing|damaged|defective|faulty|refund|rude|poor service|bad service|no one (is )?(responding|helping))\b",
    r"\b(outage|is down|went down|no (signal|service|internet|wifi|connection))\b",
    r"\b(hate|sucks?|wtf|smh|ugh|#?fail|epic ?fail|waste of|scam(med)?|rip ?off|ripped off)\b",
    r"\b(still (don'?t|do not|can'?t|cannot)|keeps? (saying|asking|showing|telling|logging))\b",
    r"\b(can'?t|cannot|unable to|couldn'?t) (log ?in|sign ?in|access|connect|use|see|load|download|update|install|"
    r"play|stream|watch|order|pay|reach|get (through|in|my))\b",
    r"\bnot (happy|good|great|impressed|ok(ay)?|acceptable|fair)\b",
    r"\b(error|issue|problem|bug|glitch)s?\b",
    r"(😡|😠|🤬|😤|😒|😩|😫|🙄|👎|😞|😢|😭)",
)
_PRAISE = _rx(
    r"\b(thanks?|thank (you|u)|thx|ty|cheers|appreciate\w*|grateful)\b",
    r"\b(love|loving|loved|adore)\b",
    r"\b(great|awesome|amazing|excellent|fantastic|brilliant|wonderful|superb|outstanding|perfect|incredible)\b",
    r"\b(best|well done|good job|nice job|kudos|shout ?out|props to|helpful|impressed|delighted)\b",
    r"(❤|♥|😍|🥰|🙌|👏|👍|😊|🙏|💯|🔥)",
)
_PURCHASE = _rx(
    r"\b(where|how) (can|do) i (buy|get|order|purchase)\b",
    r"\b(want|wanna|going|looking|trying|plan(ning)?) to (buy|order|purchase|get one)\b",
    r"\b(i'?d like to|i would like to) (buy|order|purchase)\b",
    r"\b(how much|price|pricing|cost)\b",
    r"\b(in stock|back in stock|restock\w*|sold out|pre-?order|available in|availability)\b",
    r"\b(do you (ship|deliver)|ship(ping)? to|deliver(y)? to)\b",
    r"\b(take my money|need (this|one|these)|want (this|one|these)|add(ed)? to (my )?cart)\b",
    r"\b(does it come in|do you have (it|this|these|them) in)\b",
)
_QUESTION_START = re.compile(
    r"^\s*(@\w+\s+)*(how|what|when|where|why|which|who|whom|whose|can|could|is|are|am|do|does|did|will|would|"
    r"should|shall|may|might|has|have|any(one)?|anybody|is there|are there)\b",
    re.IGNORECASE,
)
_QUESTION = _rx(r"\?", r"\b(wondering|any idea|help( me)?|please advise|let me know|how (do|can|to))\b")


@dataclass(frozen=True)
class Triage:
    """What triage decided about one message."""

    category: str
    """One of ``CATEGORIES``."""
    escalate: bool
    """True: a person must answer (abusive, legal / safety); no suggestions."""
    reason: str | None
    """Why it escalated or got no suggestions (``None`` when suggestions are wanted)."""
    flagged_injection: bool
    """The message tries to instruct the model (it is data, never instructions)."""
    injection_kinds: tuple[str, ...] = ()
    """Which injection patterns matched (override instructions, prompt extraction, …)."""
    scores: tuple[tuple[str, int], ...] = ()
    """Lexicon hit counts for the soft categories, for debugging and evaluation."""
    reason_code: str | None = None
    """Machine-readable escalation reason (``self_harm``, ``threat``, ``insult``, …); None when not escalated."""

    @property
    def wants_suggestions(self) -> bool:
        """True when the model should suggest replies."""
        return self.category not in NO_SUGGESTIONS


def detect_injection(text: str) -> tuple[str, ...]:
    """The kinds of prompt injection the text attempts (empty: none); six languages, obfuscation undone."""
    return detect_injection_kinds(text)


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in pattern.finditer(text))


def _soft_scores(text: str) -> dict[str, int]:
    """Lexicon hits for complaint / praise / purchase intent / question."""
    stripped = _URL.sub(" ", text)
    question = _count(_QUESTION, stripped) + (1 if _QUESTION_START.search(stripped) else 0)
    return {
        "complaint": _count(_COMPLAINT, stripped),
        "praise": _count(_PRAISE, stripped),
        "purchase_intent": _count(_PURCHASE, stripped),
        "question": question,
    }


def _pick_soft(scores: dict[str, int]) -> str:
    """Complaint beats praise on a tie ("thanks for nothing"); a question with only polite thanks stays a question."""
    complaint, praise = scores["complaint"], scores["praise"]
    purchase, question = scores["purchase_intent"], scores["question"]
    if complaint and complaint >= praise:
        return "complaint"
    if purchase:
        return "purchase_intent"
    if question and praise <= 1:
        return "question"
    if praise:
        return "praise"
    if question:
        return "question"
    return "other"


def triage(text: str) -> Triage:
    """Classify a comment: escalation first (self-harm, threats, legal / safety, harassment, insults), then spam,
    then the soft categories."""
    seen = views(text)
    injection = detect_injection_kinds(seen)
    flagged = bool(injection)
    scores = _soft_scores(text)
    score_items = tuple(sorted(scores.items()))
    abuse = detect_abuse(seen)
    if abuse is not None and abuse.code in {"self_harm", "threat"}:
        reason = f"legal/safety: {abuse.reason}"
        return Triage("legal_safety", True, reason, flagged, injection, score_items, abuse.code)
    for reason, code, pattern in _LEGAL_SAFETY:
        if pattern.search(text):
            return Triage("legal_safety", True, f"legal/safety: {reason}", flagged, injection, score_items, code)
    if abuse is not None:
        return Triage("abusive", True, f"abusive: {abuse.reason}", flagged, injection, score_items, abuse.code)
    links = len(_URL.findall(text))
    if _SPAM.search(text) or (links >= 3 and not scores["complaint"] and not scores["question"]):
        return Triage("spam", False, "spam: no reply suggested", flagged, injection, score_items)
    return Triage(_pick_soft(scores), False, None, flagged, injection, score_items)
