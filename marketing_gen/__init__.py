"""marketing_gen: personalized marketing copy at campaign scale with a model the store owns."""

__version__ = "0.1.0"

__all__ = ["__version__"]
