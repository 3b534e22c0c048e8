"""Digests added from the page: check each file, save it into the corpus, and update the index."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag import pipeline
from rag.build import BuildReport, Progress, update_index
from rag.config import Config
from rag.embed import Embedder
from rag.errors import CorpusError, InputError
from rag.load import SUFFIXES, load_corpus, read_document

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 2**20
MAX_UPLOADS_PER_USER = 50  # digests one login (or everyone, without a login) may keep in the corpus
LOG = "uploads.jsonl"  # one line per upload saved (file, by, at) or removed (file, removed_by, at)
FOLDER = "uploads"  # in the first corpus folder; its documents' ids start with "uploads/"
_UNSAFE = re.compile(r"[^\w.\-\u3400-\u9fff]+")


@dataclass(frozen=True)
class Checked:
    """The files that were saved into the corpus and, for each rejected one, why."""

    saved: list[str]
    rejected: list[str]


def default_dir(config: Config) -> Path:
    """Uploads go into the first corpus folder, so a later `rag index` keeps them."""
    return Path(config.corpus.paths[0]) / FOLDER


def is_upload(doc_id: str) -> bool:
    """True for a document added from the page (saved in the uploads folder of the corpus)."""
    return doc_id.startswith(f"{FOLDER}/")


def safe_name(name: str) -> str:
    """The file name only (no folders), with odd characters replaced; never hidden."""
    stem, suffix = Path(Path(name).name).stem, Path(name).suffix.lower()
    stem = _UNSAFE.sub("-", stem).strip("-.") or "digest"
    return stem[:100] + suffix


def save(
    files: list[Path],
    names: list[str],
    folder: Path,
    by: str = "",
    limit: int = MAX_UPLOAD_BYTES,
    per_user: int = MAX_UPLOADS_PER_USER,
) -> Checked:
    """Checks each uploaded file (extension, size, decodable text, a name not taken, the uploader's count) and
    copies the good ones into `folder`, noting in its `uploads.jsonl` who added each and when.

    Args:
        files: Where the uploaded bytes are (Gradio's temporary copies).
        names: The names the user's files had, in the same order.
        by: Who uploads them (the login name).
    """
    saved: list[str] = []
    rejected: list[str] = []
    kept = sum(row["by"] == by for row in listed(folder))
    for path, name in zip(files, names, strict=True):
        if kept + len(saved) >= per_user:
            rejected.append(f"{name}: {per_user} uploaded digests is the limit per user; the operator can remove some")
            continue
        target = safe_name(name)
        if (folder / target).exists():
            rejected.append(f"{name}: a digest named {target} was uploaded before; rename the file to add it too")
            continue
        suffix = Path(target).suffix
        if suffix not in SUFFIXES:
            rejected.append(f"{name}: only {', '.join(SUFFIXES)} files can be indexed")
            continue
        size = path.stat().st_size
        if size > limit:
            rejected.append(f"{name}: {_size(size)} is over the {_size(limit)} limit")
            continue
        try:
            read_document(path, target)
        except CorpusError as e:
            rejected.append(f"{name}: {str(e).removeprefix(target + ': ')}")
            continue
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / target)
        record = {"file": target, "by": by, "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
        with (folder / LOG).open("a", encoding="utf-8") as log:
            log.write(json.dumps(record, ensure_ascii=False) + "\n")
        saved.append(target)
        logger.info("saved upload %s as %s (by %s)", name, folder / target, by or "-")
    return Checked(saved, rejected)


def listed(folder: Path) -> list[dict[str, str | int]]:
    """The uploaded digests in `folder` by name: file, bytes, and who added it and when (from its log)."""
    added: dict[str, dict] = {}
    if (folder / LOG).exists():
        for line in (folder / LOG).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):  # a line cut short by a crash is no record
                record = json.loads(line)
                if "by" in record:
                    added[record.get("file", "")] = record
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != LOG) if folder.is_dir() else []
    return [
        {
            "file": p.name,
            "bytes": p.stat().st_size,
            "by": added.get(p.name, {}).get("by", ""),
            "at": added.get(p.name, {}).get("at", ""),
        }
        for p in files
    ]


def remove(folder: Path, name: str, by: str = "") -> None:
    """Deletes the uploaded digest `name` from `folder` and logs who removed it; the index keeps its passages
    until it is updated (`reindex`).

    Raises:
        InputError: no upload has that name.
    """
    if name not in {row["file"] for row in listed(folder)}:
        raise InputError(f"no uploaded digest is named {name!r}; `rag uploads list` shows them")
    (folder / name).unlink()
    record = {"file": name, "removed_by": by, "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    with (folder / LOG).open("a", encoding="utf-8") as log:
        log.write(json.dumps(record, ensure_ascii=False) + "\n")
    logger.info("removed upload %s (by %s)", folder / name, by or "-")


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} KB"


def roots(config: Config, folder: Path) -> list[Path]:
    """The corpus folders, plus the uploads folder when it lies outside all of them."""
    paths = pipeline.corpus_roots(config)
    inside = any(folder.resolve().is_relative_to(p.resolve()) for p in paths)
    return paths if inside else [*paths, folder]


def reindex(config: Config, folder: Path, embedder: Embedder, progress: Progress | None = None) -> BuildReport:
    """Updates the index with every digest of the corpus and the uploads folder (only new text is embedded)."""
    documents, problems = load_corpus(roots(config, folder))
    for problem in problems:
        logger.warning("skipped %s: %s", problem.path, problem.reason)
    return update_index(
        pipeline.index_dir(config),
        documents,
        embedder,
        config.chunk,
        factory=config.index.factory,
        progress=progress,
        dense=config.store,
    )
