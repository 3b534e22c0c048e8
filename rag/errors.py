"""The few exceptions users see; each message says what to do next."""

from __future__ import annotations


class RagError(Exception):
    """Base class: the CLI prints the message on one line and exits with code 1."""


class ConfigError(RagError):
    """A configuration file or value is wrong."""


class ModelFileError(RagError):
    """A model file is missing or fails its hash check."""


class CorpusError(RagError):
    """The corpus folder is missing, empty, or a file in it cannot be read."""


class IndexMissingError(RagError):
    """No index exists where one was expected."""


class IndexMismatchError(RagError):
    """The index on disk was built by another embedder, chunker or format version, or is damaged."""


class IndexFormatError(IndexMismatchError):
    """The index on disk was written in another format version: `rag index` rebuilds it from the corpus."""


class InputError(RagError):
    """A question or an input file is malformed."""
