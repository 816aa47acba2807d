# The README's two commands: `make demo` (main job, embedded SQLite + real Celery worker) and `make test`.
# Both create/reuse .venv and install the project. CPU machines pin the CPU torch build via
# constraints-cpu.txt; on a CUDA machine run `make TORCH_CONSTRAINTS= demo` to keep your CUDA torch.
PYTHON ?= python3
VENV ?= .venv
TORCH_CONSTRAINTS ?= -c constraints-cpu.txt
PYTEST_ARGS ?=

.PHONY: setup demo test lint

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints-cpu.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install $(TORCH_CONSTRAINTS) -e '.[dev]'
	touch $@

demo: setup
	$(VENV)/bin/marketing-gen demo

test: setup
	$(VENV)/bin/ruff check marketing_gen workers tests
	$(VENV)/bin/ruff format --check marketing_gen workers tests
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check marketing_gen workers tests
