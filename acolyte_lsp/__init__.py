"""acolyte-lsp: a language server that keeps a Weaviate index of the workspace fresh."""

__version__ = "0.1.0"
