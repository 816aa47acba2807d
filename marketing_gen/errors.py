"""Error hierarchy. Library code raises these; only the edges (CLI, API, Celery) convert them."""


class MarketingGenError(Exception):
    """Base class for every error this package raises on purpose."""


class ClientError(MarketingGenError):
    """The caller's mistake: bad input, missing setup. The message says what to do."""


class InvalidRequest(ClientError):
    """A parameter or input file is invalid."""


class Refused(ClientError):
    """Well-formed input that a check refused (campaign preflight, the promotion gate): findings, not a typo.
    The CLI exits 1 for these and 2 for every other ``ClientError``."""


class NotFound(ClientError):
    """A named object (model version, campaign, user, item) does not exist."""


class ServerError(MarketingGenError):
    """Our side failed."""


class ModelLoadError(ServerError):
    """A model could not be loaded or imported."""


class TransientError(ServerError):
    """A failure worth retrying (database lock, broker hiccup, CUDA OOM after splitting)."""


class ConfigError(ClientError):
    """A setting is missing or unsafe (unset signing key, localhost links); the message names the variable."""
