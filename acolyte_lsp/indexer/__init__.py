"""Indexing, with no LSP: `events` is the vocabulary the server and the CLI read; `service` the engine.

The engine's stages, in the order a file meets them: `planning` (what changed),
`preparing` (read and chunk, then embed), `sending` (insert, then delete what the new
chunks replace), joined by the bounded queues of `streaming`.
"""
