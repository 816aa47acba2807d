"""Recommendations: the built-in item-item recommender, its offline evaluation, and the profile join.

- ``cf``        in-memory item-item CF + popularity-by-category fallback (numpy / scipy.sparse)
- ``store``     database reads and the replace-per-user write of ``recommendations`` (source ``builtin``)
- ``evaluate``  leave-last-basket-out / temporal splits, recall@k, NDCG@k, coverage vs popularity
- ``contexts``  ``build_contexts``: users ⋈ recommendations ⋈ items → frozen ``UserContext`` (one query per batch)
"""

from marketing_gen.recommend.contexts import build_contexts

__all__ = ["build_contexts"]
