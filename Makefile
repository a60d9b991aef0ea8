# Two entry points on a fresh machine (Python 3.11 present):
#   make report   set up, then check every stack against the controls catalog and write reports/ (the main job)
#   make test     set up, then lint, type-check and run the test suite (what CI runs)
PYTHON ?= python3.11
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup tools report generated-mutants test lint clean

setup: .venv/.synced

.tools/bin/uv: tools/bootstrap-requirements.txt
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --require-hashes -r tools/bootstrap-requirements.txt
	touch $@

.venv/.synced: .tools/bin/uv uv.lock pyproject.toml
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	touch $@

# checkov (the third-party gate of `caseshield check`) in its own environment: it pins older boto3/networkx/packaging.
CHECKOV := .tools/checkov/bin/checkov
# parliament (the IAM policy linter of IAM-12) in its own environment: it needs pkg_resources (setuptools < 81).
PARLIAMENT := .tools/parliament/bin/parliament
tools: $(CHECKOV) $(PARLIAMENT)

$(PARLIAMENT): tools/parliament-requirements.txt
	$(PYTHON) -m venv .tools/parliament
	.tools/parliament/bin/pip install --quiet -r tools/parliament-requirements.txt
	touch $@

$(CHECKOV): tools/checkov-requirements.txt
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet -r tools/checkov-requirements.txt
	touch $@

# The hand-written mutants and the generated ones (issue 14: systematic weakenings of the recorded graphs, ~2.5 min).
report: setup tools
	.venv/bin/caseshield check --stack all --mutants --generated-mutants --format md,html,json,sarif,junit --out reports

# The generated mutants alone (while mending rules: minutes, not the hand-written mutants' quarter of an hour).
generated-mutants: setup tools
	.venv/bin/caseshield check --stack all --generated-mutants --format md,html,json,sarif,junit --out reports/generated

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy caseshield components policies tests bench

test: lint tools
	.venv/bin/pytest

clean:
	rm -rf .venv .tools reports
