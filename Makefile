# Two entry points on a fresh machine (Python 3.11 present):
#   make report   set up, then evaluate every stack offline and print its resource plan (the main job)
#   make test     set up, then lint, type-check and run the test suite (what CI runs)
PYTHON ?= python3.11
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup report test lint clean

setup: .venv/.synced

.tools/bin/uv: tools/bootstrap-requirements.txt
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --require-hashes -r tools/bootstrap-requirements.txt
	touch $@

.venv/.synced: .tools/bin/uv uv.lock pyproject.toml
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	touch $@

report: setup
	.venv/bin/caseshield plan --stack all

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy caseshield components tests

test: lint
	.venv/bin/pytest

clean:
	rm -rf .venv .tools reports
