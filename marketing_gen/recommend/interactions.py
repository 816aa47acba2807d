"""The implicit-feedback data of a store as sparse matrices: event codes, weights, consumed items, last times.

Owns ``build_interactions`` (event arrays → ``Interactions``; duplicates and unknown ids dropped and counted)
and ``Interactions.take_users`` (a row subset, for the selection sample). Does not own any model (``cf.py``,
``models.py``) nor the database reads (``store.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

EVENTS: tuple[str, ...] = ("view", "cart", "purchase", "rating")
"""Event kinds, in code order (``event`` arrays hold indices into this tuple; -1 = unknown)."""

EVENT_WEIGHTS: dict[str, float] = {"view": 0.25, "cart": 0.5, "purchase": 1.0, "rating": 0.5}
"""Implicit-feedback strength of one event; a user's weight for an item is log1p(sum of its events)."""

PURCHASE = EVENTS.index("purchase")
RATING = EVENTS.index("rating")
CONSUMED_EVENTS: tuple[int, ...] = (PURCHASE, RATING)
"""Events after which an item is not offered again by default: the user has it (bought) or knows it (rated)."""


@dataclass
class Interactions:
    """The implicit-feedback data of a store, as index arrays and sparse matrices."""

    matrix: sp.csr_matrix
    """users × items, float32: log1p of the summed event weights (canonical CSR: sorted, no duplicates)."""
    consumed: sp.csr_matrix
    """users × items, 1.0 where the user purchased or rated the item (excluded from recommendations by default)."""
    item_category: np.ndarray
    """int32 category code per item (-1 = no category)."""
    item_eligible: np.ndarray
    """bool per item: may be recommended (in stock and priced)."""
    last_ts: np.ndarray | None = None
    """int64 per stored entry of ``matrix`` (aligned with ``matrix.data``): the entry's latest event time."""
    report: dict[str, int] = field(default_factory=dict)
    """Counts of what was dropped or is cold: duplicates, unknown ids, users/items without interactions."""

    @property
    def n_users(self) -> int:
        """Number of user rows."""
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        """Number of item columns."""
        return int(self.matrix.shape[1])

    def take_users(self, rows: np.ndarray) -> Interactions:
        """The same store restricted to the user ``rows`` (in that order); items keep their columns."""
        rows = np.asarray(rows, dtype=np.int64)
        last = None
        if self.last_ts is not None:
            spans = [np.arange(self.matrix.indptr[r], self.matrix.indptr[r + 1]) for r in rows.tolist()]
            last = self.last_ts[np.concatenate(spans)] if spans else np.zeros(0, np.int64)
        return replace(self, matrix=self.matrix[rows], consumed=self.consumed[rows], last_ts=last, report={})


def build_interactions(
    n_users: int,
    n_items: int,
    user: np.ndarray,
    item: np.ndarray,
    event: np.ndarray,
    *,
    ts: np.ndarray | None = None,
    item_category: np.ndarray | None = None,
    item_eligible: np.ndarray | None = None,
) -> Interactions:
    """Aggregate event arrays (row index, column index, event code, optional timestamp) into ``Interactions``.

    Rows with an index of -1 or out of range (unknown user / item) or an unknown event code are dropped and
    counted; with ``ts`` given, exact duplicates (same user, item, event, ts) are dropped and counted and each
    entry remembers its latest time (``last_ts``, for temporal hold-outs).
    """
    user = np.asarray(user, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    event = np.asarray(event, dtype=np.int64)
    report = {"events": int(user.size)}
    bad_user = (user < 0) | (user >= n_users)
    bad_item = (item < 0) | (item >= n_items)
    bad_event = (event < 0) | (event >= len(EVENTS))
    report["unknown_user"] = int(bad_user.sum())
    report["unknown_item"] = int((bad_item & ~bad_user).sum())
    report["unknown_event"] = int((bad_event & ~bad_user & ~bad_item).sum())
    keep = ~(bad_user | bad_item | bad_event)
    user, item, event = user[keep], item[keep], event[keep]
    report["duplicates"] = 0
    last_ts = None
    if ts is not None:
        t = np.asarray(ts, dtype=np.int64)[keep]
        order = np.lexsort((t, event, item, user))
        u, i, e, t = user[order], item[order], event[order], t[order]
        dup = np.zeros(u.size, dtype=bool)
        dup[1:] = (u[1:] == u[:-1]) & (i[1:] == i[:-1]) & (e[1:] == e[:-1]) & (t[1:] == t[:-1])
        report["duplicates"] = int(dup.sum())
        user, item, event, t = u[~dup], i[~dup], e[~dup], t[~dup]
        # Latest time per (user, item): groups in (user, item) order are the canonical CSR entry order.
        by_entry = np.lexsort((t, item, user))
        us, its, ts_sorted = user[by_entry], item[by_entry], t[by_entry]
        last = np.ones(us.size, dtype=bool)
        last[:-1] = (us[1:] != us[:-1]) | (its[1:] != its[:-1])
        last_ts = ts_sorted[last]
    weights = np.array([EVENT_WEIGHTS[name] for name in EVENTS], dtype=np.float32)[event]
    shape = (n_users, n_items)
    matrix = sp.csr_matrix((weights, (user, item)), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data = np.log1p(matrix.data).astype(np.float32)
    is_consumed = np.isin(event, CONSUMED_EVENTS)
    n_consumed = int(is_consumed.sum())
    consumed = sp.csr_matrix(
        (np.ones(n_consumed, dtype=np.float32), (user[is_consumed], item[is_consumed])), shape=shape
    )
    consumed.sum_duplicates()
    consumed.data[:] = 1.0
    if item_category is None:
        item_category = np.full(n_items, -1, dtype=np.int32)
    if item_eligible is None:
        item_eligible = np.ones(n_items, dtype=bool)
    item_category = np.asarray(item_category, dtype=np.int32)
    item_eligible = np.asarray(item_eligible, dtype=bool)
    report["events_used"] = int(user.size)
    report["users_without_interactions"] = int((np.diff(matrix.indptr) == 0).sum())
    report["items_without_interactions"] = int((np.bincount(matrix.indices, minlength=n_items) == 0).sum())
    report["items_not_recommendable"] = int((~item_eligible).sum())
    return Interactions(matrix, consumed, item_category, item_eligible, last_ts, report)
