# The commands the README and CI use, verbatim.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Core modules that must stay at >= 95% line coverage.
CORE   := src/market_maker/strategy/*,src/market_maker/slots/*,src/market_maker/domain/instrument.py

.PHONY: paper backtest demo test lint typecheck unit site proto docs screenshots bench compiled bench-compiled clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## paper: install, then paper-trade the packaged bot on a local paper exchange (bundled data)
paper: $(STAMP)
	$(BIN)/market-maker run

## backtest: install, then backtest the default grid on the bundled real data, with reports
backtest: $(STAMP)
	$(BIN)/market-maker backtest --json out/report.json --html out/report.html

## demo: install, then run the grid along a sample price path
demo: $(STAMP)
	$(BIN)/market-maker demo

## test: install, then lint, type-check, build the documentation site and run the whole test suite with coverage
test: $(STAMP) lint typecheck site unit

lint: $(STAMP)
	$(BIN)/ruff check src devtools tests scripts benchmarks
	$(BIN)/ruff format --check src devtools tests scripts benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	bash scripts/ensure_chromium.sh
	bash scripts/ensure_prometheus.sh
	$(BIN)/pytest --cov --cov-report=term -q
	$(BIN)/coverage report --include='$(CORE)' --fail-under=95

## proto: regenerate the checked-in protobuf code from proto/
proto: $(STAMP)
	$(BIN)/python scripts/gen_proto.py

## docs: regenerate the reference tables under docs/ that mirror the code
docs: $(STAMP)
	$(BIN)/python scripts/gen_docs.py

## site: build the documentation site into build/site; a broken link or anchor, a page left
## out of the navigation or an unreadable docstring fails it
site: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## screenshots: regenerate docs/images/ (the dashboard and the backtest report, in headless Chromium)
screenshots: $(STAMP)
	bash scripts/ensure_chromium.sh
	$(BIN)/python scripts/screenshots.py

## bench: backtest speed and memory on a full dataset (see benchmarks/README.md)
bench: $(STAMP)
	$(BIN)/python benchmarks/backtest_speed.py

## compiled: build the optional mypyc-compiled copy of the hot path into build/compiled
compiled: $(STAMP)
	$(BIN)/python scripts/build_compiled.py

## bench-compiled: the backtest benchmark on the compiled copy (see benchmarks/README.md)
bench-compiled: compiled
	PYTHONPATH=build/compiled $(BIN)/python benchmarks/backtest_speed.py

clean:
	rm -rf build $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
