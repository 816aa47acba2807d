"""`eval copy --gallery`: held-out users × channels, before and after, each piece with its verdict and findings."""

from __future__ import annotations

from pathlib import Path

from fakes import ScriptedEngine

from marketing_gen.training.evaluate import evaluate_engine
from marketing_gen.training.gallery import gallery_rows, write_gallery
from training.conftest import build_context


def test_gallery_shows_both_models_per_user_with_findings_escaped(tmp_path: Path) -> None:
    contexts = [build_context(n) for n in range(3)]
    before = ScriptedEngine(default="TITLE: <b>Knisole</b> for you\nBODY: Knisole Knisole.", version="base")
    after = ScriptedEngine(
        default="TITLE: Alice, meet the Glass Hanging Lantern\nBODY: The Glass Hanging Lantern is £12.50.",
        version="tuned",
    )
    evals = [evaluate_engine(e, contexts, ["push"], examples=10) for e in (before, after)]

    rows = gallery_rows(evals)
    assert [r["user"] for r in rows] == ["user-0", "user-1", "user-2"]
    bad, good = rows[0]["pieces"]
    assert not bad["sendable"] and bad["findings"] and good["sendable"] and good["verdict"] == "sendable"

    page = write_gallery(evals, tmp_path / "g.html").read_text()
    assert "base" in page and "tuned" in page and "<h2>push</h2>" in page
    assert "&lt;b&gt;Knisole&lt;/b&gt;" in page and "<b>Knisole" not in page  # model text is escaped
    assert any(f.split(" ")[0] in page for f in bad["findings"])
    assert page.count('class="sendable"') == 3
