"""Recommendations: the built-in models, their automatic selection, the offline evaluation and the profile join.

- ``interactions`` event arrays → user × item matrices (weights, consumed items, last event times)
- ``ranking``      the ``Recommender`` base: filters, category cap, deterministic ties, popularity fill
- ``cf``           item-kNN, RP3β and popularity (sparse item-item scoring)
- ``models``       EASE and iALS (dense scoring), the candidate table and grids, ``fit_model``
- ``select``       temporal hold-out, recall@k / NDCG@k with 95 % intervals, ``select_model`` (``--model auto``)
- ``evaluate``     every candidate and ``auto`` on a public data set (``eval recs``); ``datasets`` reads them
- ``store``        database reads, ``run_recommend``, the replace-per-user write (source ``builtin``) and its run record
- ``contexts``     ``build_contexts``: users ⋈ recommendations ⋈ items → frozen ``UserContext`` (one query per batch)
"""

from marketing_gen.recommend.contexts import build_contexts

__all__ = ["build_contexts"]
