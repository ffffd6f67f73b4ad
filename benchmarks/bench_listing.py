"""What each way of asking Weaviate what a workspace holds costs, on an indexed workspace (issue 18's options).

Usage: python benchmarks/bench_listing.py URL CLASS FOLDER   (FOLDER indexed into CLASS first, e.g. with
`acolyte-lsp index FOLDER --url URL`). Prints the median of 5 for each question; writes and deletes a
throw-away class for the manifest-sized object.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import weaviate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.identity import workspace_id  # noqa: E402
from acolyte_lsp.store import queries  # noqa: E402


def _median(ask: Callable[[], Any], times: int = 5) -> float:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        ask()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent)


def main() -> None:
    url, class_name, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    workspace = workspace_id(folder)
    client = weaviate.Client(url)
    session = requests.Session()

    def graphql(query: str) -> Any:
        return session.post(url + "/v1/graphql", json={"query": query}).json()

    mine = '{path:["workspace"],operator:Equal,valueText:"%s"}' % workspace
    first = '{operator:And,operands:[%s,{path:["chunk_index"],operator:Equal,valueInt:0}]}' % mine
    rows = {
        "first-chunk Aggregate grouped by file_path": lambda: queries.indexed_files(client, class_name, workspace),
        "meta count of the workspace": lambda: graphql("{Aggregate{%s(where:%s){meta{count}}}}" % (class_name, mine)),
        "meta count of its first chunks": lambda: graphql("{Aggregate{%s(where:%s){meta{count}}}}" % (class_name, first)),
        "... with file_chunks sum": lambda: graphql("{Aggregate{%s(where:%s){meta{count} file_chunks{sum}}}}" % (class_name, first)),
        "meta count of the class, unfiltered": lambda: graphql("{Aggregate{%s{meta{count}}}}" % class_name),
    }
    for label, ask in rows.items():
        print(f"{label}: {_median(ask):.4f} s")
    manifest_class = "ListingProbe" + uuid.uuid4().hex[:6]
    client.schema.create_class({"class": manifest_class, "vectorizer": "none", "properties": [
        {"name": "files", "dataType": ["text"], "indexFilterable": False, "indexSearchable": False}]})
    try:
        files = queries.indexed_files(client, class_name, workspace)
        blob = json.dumps({path: sorted(hashes)[0][:16] for path, hashes in files.items()})
        object_id = str(uuid.uuid5(uuid.NAMESPACE_URL, workspace))
        start = time.perf_counter()
        client.data_object.create({"files": blob}, manifest_class, uuid=object_id)
        print(f"manifest of {len(files)} files ({len(blob):,} bytes) written: {time.perf_counter() - start:.4f} s")
        print(f"... read by id: {_median(lambda: session.get(f'{url}/v1/objects/{manifest_class}/{object_id}').content):.4f} s")
    finally:
        client.schema.delete_class(manifest_class)


if __name__ == "__main__":
    main()
