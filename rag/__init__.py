"""Retrieval-augmented question answering over AI-news digests."""

__version__ = "0.1.0"
