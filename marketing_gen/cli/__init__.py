"""Command-line interface: click group `marketing-gen`. Heavy imports live inside commands."""

from marketing_gen.cli import db_cmds  # noqa: F401  (registers commands)
from marketing_gen.cli import feedback_cmds  # noqa: F401
from marketing_gen.cli import import_cmds  # noqa: F401
from marketing_gen.cli import model_cmds  # noqa: F401
from marketing_gen.cli import recommend_cmds  # noqa: F401
from marketing_gen.cli.groups import main

__all__ = ["main"]
