"""Write tests/fixtures/minilm_reference.json: all-MiniLM-L6-v2's vectors from sentence-transformers.

The test suite checks the ONNX runtime against these without PyTorch. Run in an
environment with sentence-transformers (`pip install 'acolyte-lsp[local-model]'`):

  python scripts/make_model_reference.py
"""

from __future__ import annotations

import json
from pathlib import Path

from sentence_transformers import SentenceTransformer

from acolyte_lsp.models.acquire import packaged_model_folder
from acolyte_lsp.models.profiles import DEFAULT_MODEL

TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "Open a file and return its lines without trailing newlines.",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        self.items.append(item)\n",
    "SELECT name, count(*) FROM users GROUP BY name ORDER BY 2 DESC;",
    "The quick brown fox jumps over the lazy dog.",
    "x = 1",
]


def main() -> None:
    folder = packaged_model_folder(DEFAULT_MODEL)
    model = SentenceTransformer(str(folder), device="cpu")
    vectors = model.encode(TEXTS, normalize_embeddings=True).tolist()
    out = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "minilm_reference.json"
    out.write_text(json.dumps({"max_seq_length": model.max_seq_length, "texts": TEXTS, "vectors": vectors}) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
