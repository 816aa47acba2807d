"""Command-line interface: click group `marketing-gen`. Heavy imports live inside commands."""

from marketing_gen.cli import (
    ads_cmds,  # noqa: F401
    bench_campaign,  # noqa: F401
    bench_generate,  # noqa: F401
    bench_send,  # noqa: F401
    campaign_cmds,  # noqa: F401
    db_cmds,  # noqa: F401  (registers commands)
    demo_cmds,  # noqa: F401
    feedback_cmds,  # noqa: F401
    gate_cmds,  # noqa: F401
    import_cmds,  # noqa: F401
    lint_cmds,  # noqa: F401
    model_cmds,  # noqa: F401
    recommend_cmds,  # noqa: F401
    replies_cmds,  # noqa: F401
    reply_safety_cmds,  # noqa: F401
    review_cmds,  # noqa: F401
    send_cmds,  # noqa: F401
    train_cmds,  # noqa: F401
    worker_cmds,  # noqa: F401
)
from marketing_gen.cli.groups import main

__all__ = ["main"]
