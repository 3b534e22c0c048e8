# The two commands of the README: `make run` and `make test`. Each sets up what it needs first.
.PHONY: run test setup lint reliability bench

export HF_HUB_OFFLINE := 1

setup:
	@bash scripts/setup.sh

run: setup
	.venv/bin/rag index
	.venv/bin/rag serve

test: setup
	.venv/bin/ruff check rag ui tests bench scripts
	.venv/bin/mypy
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check rag ui tests bench scripts

# Issue 6's checks: bad input (hypothesis), SIGKILL during indexing, two writers, no network, a rebuilt index
# picked up by the page, then 20 users on the page for 2 minutes (README, "Reliability").
reliability: setup
	.venv/bin/python -m pytest tests/test_robust.py tests/test_faults.py tests/test_offline.py tests/test_load.py \
		tests/test_build.py tests/test_config.py tests/test_weights.py tests/test_cli.py tests/test_ui.py
	.venv/bin/rag index
	.venv/bin/python scripts/load_test.py --users 20 --seconds 120 --json docs/load.json

# The benchmark (docs/benchmark.md): shipped corpus and synthetic 1k/10k/100k chunks beside LangChain's FAISS
# pipeline; the embedder in float32 and int8 (PyTorch, ONNX Runtime) and --workers/--ray builds; HNSW recall on
# ~11k real e5 vectors (about 30 minutes on 2 idle cores the first time; the recall vectors are kept in index/).
bench: setup
	.venv/bin/python bench/bench.py --json docs/bench.json --plot docs/bench.png
	.venv/bin/python bench/scale_out.py
	.venv/bin/python bench/recall.py --vectors index/recall-vectors.npz
