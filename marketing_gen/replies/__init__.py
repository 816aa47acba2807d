"""Social reply suggestions: triage, diverse safe candidates, evaluation, and the API's micro-batcher."""

from marketing_gen.replies.suggest import ReplySuggestions, Suggestion, suggest_replies
from marketing_gen.replies.triage import Triage, triage

__all__ = ["ReplySuggestions", "Suggestion", "Triage", "suggest_replies", "triage"]
