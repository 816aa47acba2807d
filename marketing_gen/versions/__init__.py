"""Model versions: registry rows (``registry.py``), base-model import (``base_model.py``), and loading the active
version into an engine (``active.py``). The only package that joins the database and the engine: ``llm/`` knows
no database."""
