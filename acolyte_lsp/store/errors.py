"""Store errors with messages a user can act on (no `weaviate` types leak out)."""

from __future__ import annotations

from ..secrecy import mask_url

CONTAINER_HINT = "docker run -p 8080:8080 -p 50051:50051 semitechnologies/weaviate:1.25.4"


class StoreError(Exception):
    """Base class for Weaviate problems reported to users (a URL's credentials never in the message)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(mask_url(a) if isinstance(a, str) else a for a in args))


class WeaviateUnavailableError(StoreError):
    """Nothing usable answered at the configured URL."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = mask_url(str(url))
        self.detail = detail
        super().__init__(
            f"Cannot reach Weaviate at {url} ({detail}). Start a local Weaviate with "
            f"`{CONTAINER_HINT}`, or set `weaviate.embedded: true` in .acolyte to let acolyte-lsp "
            "download and run Weaviate Embedded (this needs internet access once; where downloads "
            "are impossible, neither works and you need a reachable server). To use another server, "
            "set `weaviate.url` in .acolyte, the WEAVIATE_URL environment variable, or the editor "
            "setting acolyte.weaviate.url (add WEAVIATE_API_KEY for servers that need a key)."
        )


class EmbeddedWeaviateError(WeaviateUnavailableError):
    """Weaviate Embedded could not be downloaded or started."""

    def __init__(self, version: str, binary: str, detail: str) -> None:
        self.url = "Weaviate Embedded"
        self.detail = detail
        where = f" to {binary}" if binary else ""
        StoreError.__init__(
            self,
            f"Weaviate Embedded {version} cannot be used: {detail}. It is downloaded once{where} and then runs "
            "on this machine; where downloads are impossible, copy a Weaviate binary of that version there from "
            f"a machine that has one, or run a Weaviate server (`{CONTAINER_HINT}`) and set `weaviate.url`.",
        )


class SchemaMismatchError(StoreError):
    """The class exists in Weaviate but cannot hold our chunks."""
