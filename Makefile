# The two commands of the README: `make run` and `make test`. Each sets up what it needs first.
.PHONY: run test setup lint

export HF_HUB_OFFLINE := 1

setup:
	@bash scripts/setup.sh

run: setup
	.venv/bin/rag index
	.venv/bin/rag serve

test: setup
	.venv/bin/ruff check rag ui tests
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check rag ui tests
