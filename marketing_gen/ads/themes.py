"""Ad groups from an audience: who shares a theme, and which items speak for the group.

Owns the grouping rule. A user's theme is the top category of their recommended items (the category most of
them share; a tie goes to the best-ranked item's category), or the name of the first segment group they match
when the caller gives groups. Ad groups are keyed by (language, theme): an ad is written in one language, and a
search campaign targets languages. A group's items are its most recommended ones (by how many members have them,
then by their mean rank), on-theme items first. Does not read the database or write copy.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from marketing_gen.channels.sms import language_code
from marketing_gen.contexts import ItemFacts, UserContext

ITEMS_PER_GROUP = 3
"""Items an ad group's copy is written about (the prompt shows at most three)."""
MIN_MEMBERS = 3
"""Smallest ad group: a theme shared by fewer users is not a theme, it is targeting a person."""
POOLED_THEME = "More picks"
"""The theme of the group that pools a language's themes too small to stand alone."""


@dataclass(frozen=True)
class AdGroupPlan:
    """One ad group: its theme, language, members and the items its ad is about."""

    theme: str
    language: str
    """ISO 639-1 code of the members' language (``en``, ``de`` …)."""
    members: tuple[int, ...]
    """User ids (database) in the group, ascending."""
    items: tuple[ItemFacts, ...]
    """The group's most recommended items, best first (``rank`` renumbered from 1)."""
    item_votes: tuple[int, ...] = ()
    """How many members have each of ``items`` among their recommendations."""

    @property
    def landing_url(self) -> str | None:
        """The group's landing page: its top item's page."""
        return next((i.url for i in self.items if i.url), None)


def theme_of(context: UserContext) -> str | None:
    """The top category of the user's recommended items (None without categorised items)."""
    categories = [i.category for i in context.items if i.category]
    if not categories:
        return None
    counts = Counter(categories)
    best = max(counts.values())
    return next(c for c in categories if counts[c] == best)  # items are best-first: ties go to the better rank


def group_by_theme(
    contexts: Sequence[UserContext],
    *,
    assign: Callable[[UserContext], str | None] = theme_of,
    items_per_group: int = ITEMS_PER_GROUP,
    min_members: int = MIN_MEMBERS,
) -> list[AdGroupPlan]:
    """Ad groups of ``contexts`` (largest first, then by language and theme).

    Themes with fewer than ``min_members`` users are pooled per language into one ``POOLED_THEME`` group (kept
    when the pool itself has ``min_members``); users without a theme, and pools too small, are left out.
    """
    members: dict[tuple[str, str], list[UserContext]] = defaultdict(list)
    for context in contexts:
        theme = assign(context)
        if theme and context.items:
            members[(language_code(context.locale), theme)].append(context)
    pooled: dict[tuple[str, str], list[UserContext]] = defaultdict(list)
    for (language, theme), group in list(members.items()):
        if len(group) < min_members:
            pooled[(language, POOLED_THEME)].extend(members.pop((language, theme)))
    members.update({key: group for key, group in pooled.items() if len(group) >= min_members})
    plans = []
    for (language, theme), group in members.items():
        items, votes = _top_items(group, theme, items_per_group)
        ids = tuple(sorted(c.user_id for c in group))
        plans.append(AdGroupPlan(theme=theme, language=language, members=ids, items=items, item_votes=votes))
    plans.sort(key=lambda p: (-len(p.members), p.language, p.theme))
    return plans


def _top_items(group: list[UserContext], theme: str, k: int) -> tuple[tuple[ItemFacts, ...], tuple[int, ...]]:
    votes: Counter[int] = Counter()
    rank_sum: Counter[int] = Counter()
    facts: dict[int, ItemFacts] = {}
    for context in group:
        for item in context.items:
            votes[item.item_id] += 1
            rank_sum[item.item_id] += item.rank
            facts.setdefault(item.item_id, item)
    order = sorted(
        votes,
        key=lambda i: (facts[i].category != theme, -votes[i], rank_sum[i] / votes[i], i),
    )[:k]
    items = tuple(dataclasses.replace(facts[i], rank=n, score=float(votes[i])) for n, i in enumerate(order, 1))
    return items, tuple(votes[i] for i in order)
