import json
from pathlib import Path

import pytest

from rag import pipeline
from tests.conftest import run_cli


@pytest.fixture
def rag(monkeypatch, tmp_path, corpus, embedder, capsys):
    """Runs `rag ARGS...` in-process on the small corpus with the hashing embedder; returns (code, out, err)."""
    monkeypatch.setenv("RAG_INDEX__DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_CORPUS__PATHS", str(corpus))
    monkeypatch.setenv("RAG_RERANK__BACKEND", "none")
    monkeypatch.setattr(pipeline, "make_embedder", lambda config: embedder)

    return lambda *args: run_cli(monkeypatch, capsys, *args)


def test_index_then_search_json(rag):
    code, out, _ = rag("index")
    assert code == 0 and "2 added" in out
    code, out, _ = rag("search", "GSM8K 准确率", "--k", "3", "--json")
    line = json.loads(out)
    assert code == 0 and line["question"] == "GSM8K 准确率"
    assert [h["rank"] for h in line["hits"]] == [1, 2, 3]
    assert set(line["hits"][0]) == {"rank", "chunk_id", "source", "section", "text", "score", "flags"}
    assert "12.5%" in line["hits"][0]["text"]


def test_unchanged_index_says_so(rag):
    rag("index")
    code, out, _ = rag("index")
    assert code == 0 and "up to date" in out


def test_search_questions_file(rag, tmp_path):
    rag("index")
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        '{"id": "a", "question": "视频生成", "extra": 1}\n\n{"id": "b", "question": "MMTEB score"}\n', encoding="utf-8"
    )
    code, out, _ = rag("search", "--questions", str(qa), "--k", "2", "--json")
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and [x["id"] for x in lines] == ["a", "b"]
    assert all(len(x["hits"]) == 2 for x in lines)


def test_human_output_shows_rank_score_source_section(rag):
    rag("index")
    code, out, _ = rag("search", "视频生成", "--k", "1")
    assert code == 0
    assert "1. " in out and "daily-2026-01-05.md" in out and "VidGen" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", "   "), "question is empty"),
        (("search", "x", "--k", "0"), "--k must be at least 1"),
        (("search", "--questions", "missing.jsonl"), "file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(rag, args, message):
    rag("index")
    code, out, err = rag(*args)
    assert code == 1
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_malformed_jsonl_names_the_line(rag, tmp_path):
    rag("index")
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"id": 1, "question": "ok"}\n{"id": 2, "question": \n', encoding="utf-8")
    code, _, err = rag("search", "--questions", str(qa))
    assert code == 1 and f"{qa}:2" in err


def test_missing_index_says_how_to_build(rag):
    code, _, err = rag("search", "anything")
    assert code == 1 and "rag index" in err


def test_missing_corpus(rag, monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_CORPUS__PATHS", str(tmp_path / "nowhere"))
    code, _, err = rag("index")
    assert code == 1 and "corpus folder not found" in err


def test_empty_corpus(rag, monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("RAG_CORPUS__PATHS", str(tmp_path / "empty"))
    code, _, err = rag("index")
    assert code == 1 and "no readable digests" in err


def test_bad_config_key(rag, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[chunk]\nsize = 400\nsizes = 3\n", encoding="utf-8")
    code, _, err = rag("--config", str(bad), "index")
    assert code == 1 and "unknown key" in err and "sizes" in err


def test_eval_reports_hits(rag, tmp_path):
    rag("index")
    qa = tmp_path / "gold.jsonl"
    rows = [
        {
            "id": "1",
            "question": "GSM8K 准确率提高了多少",
            "evidence": ["提高了 12.5%"],
            "answerable": True,
            "lang": "zh",
            "kind": "number",
        },
        {"id": "2", "question": "unanswerable", "evidence": [], "answerable": False},
    ]
    qa.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    code, out, _ = rag("eval", "--qa", str(qa), "--json")
    figures = json.loads(out)["stages"]["final"]
    assert code == 0 and figures["all"]["n"] == 1 and figures["all"]["hit@1"] == 1.0
    assert figures["lang=zh"]["mrr@10"] == 1.0
    code, out, _ = rag("eval", "--qa", str(qa), "--stages", "--plot", str(tmp_path / "stages.png"))
    assert code == 0
    assert "keyword" in out and "dense" in out and "fused" in out
    assert (tmp_path / "stages.png").read_bytes()[:4] == b"\x89PNG"


def test_shipped_configs_load():
    from rag.config import load_config

    for path in sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.toml")):
        load_config(path)


def test_eval_answers_measures_each_check_by_its_absence(rag, tmp_path, monkeypatch):
    from tests.conftest import ScriptedGenerator

    generator = ScriptedGenerator(lambda messages: "MathRL 在 GSM8K 上准确率提高了 12.5% [1]。")
    monkeypatch.setattr("rag.generate.make_generator", lambda config: generator)
    rag("index")
    qa = tmp_path / "qa.jsonl"
    rows = [
        {"id": "1", "question": "MathRL 在 GSM8K 上提高了多少？", "evidence": ["提高了 12.5%"], "answers": ["12.5"]},
        {"id": "2", "question": "红烧肉怎么做才好吃？", "evidence": [], "answers": [], "answerable": False},
    ]
    qa.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    code, out, _ = rag("eval", "--qa", str(qa), "--answers", "--json", "--ablate", "unseen_terms")
    report = json.loads(out)["answers"]
    assert code == 0 and report["answer_hit"] == 1.0 and report["declined_unanswerable"] == 1.0
    assert report["checks_fired"] == {"unseen_terms": 1}
    without = report["ablations"]["unseen_terms"]
    assert "unseen_terms" not in without["checks_fired"] and without["checks_fired"]  # another check declines it
    prompts = len(generator.prompts)
    code, out, _ = rag("eval", "--qa", str(qa), "--answers", "--ablate", "all")
    assert code == 0 and "without answer_type" in out and "without unseen_terms" in out
    code, _, err = rag("eval", "--qa", str(qa), "--answers", "--ablate", "nonsense")
    assert code == 1 and "answer.skip names no check: nonsense" in err
    assert len(generator.prompts) > prompts


def test_serve_turns_uploads_on_only_when_asked(rag, monkeypatch):
    import ui.app

    served = []
    monkeypatch.setattr(ui.app, "serve", lambda config, **kw: served.append(kw["uploads"]))
    assert rag("serve")[0] == 0 and rag("serve", "--uploads")[0] == 0
    assert served == [None, True]  # None: on behind a login only


def test_uploads_are_listed_and_removed_from_the_corpus_and_the_index(rag, corpus, tmp_path):
    from rag import store
    from ui import uploads

    upload = tmp_path / "tmp-upload"
    upload.write_text("# Erratum\n\nVidGen 的视频最长 12 分钟。\n", encoding="utf-8")
    folder = corpus / uploads.FOLDER
    assert uploads.save([upload], ["erratum.md"], folder, by="alice").saved == ["erratum.md"]
    assert rag("index")[0] == 0
    code, out, _ = rag("uploads", "list", "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and row["file"] == "erratum.md" and row["by"] == "alice" and row["at"] and row["bytes"] > 0
    code, out, err = rag("uploads", "remove", "nothing.md")
    assert code != 0 and "no uploaded digest is named 'nothing.md'" in err and "Traceback" not in err
    code, out, _ = rag("uploads", "remove", "erratum.md")
    assert code == 0 and "removed erratum.md" in out and not (folder / "erratum.md").exists()
    assert "uploads/erratum.md" not in store.load(tmp_path / "index").manifest["documents"]
    assert rag("uploads", "list")[1].startswith("no uploaded digests")
    assert '"removed_by"' in (folder / uploads.LOG).read_text(encoding="utf-8")  # the log keeps who removed it
