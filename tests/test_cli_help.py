"""Every CLI command explains itself: `--help` works and each command has help text."""

from __future__ import annotations

import click
from click.testing import CliRunner

from marketing_gen import __version__
from marketing_gen.cli import main


def _walk(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, cmd in sorted(group.commands.items()):
        found.append((prefix + (name,), cmd))
        if isinstance(cmd, click.Group):
            found.extend(_walk(cmd, prefix + (name,)))
    return found


def test_every_command_has_help_text() -> None:
    commands = _walk(main)
    assert len(commands) > 20
    missing = [" ".join(path) for path, cmd in commands if not (cmd.help or cmd.short_help)]
    assert missing == []


def test_help_runs_for_every_command() -> None:
    runner = CliRunner()
    for path, _cmd in _walk(main):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output
