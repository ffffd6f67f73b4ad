"""bm25 and hybrid search, on small corpora whose right order is plain (the test server's, or a real Weaviate's).

Scores are checked against BM25F worked by hand: k1 1.2, b 0.75, idf
ln(1 + (N - n + 0.5) / (n + 0.5)), score = idf * f / (f + k1 * (1 - b + b * len / mean len)).
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
import weaviate
from weaviate.gql.get import HybridFusion


def _class(client: weaviate.Client, name: str, docs: list[dict[str, Any]], vectors: list[list[float]] | None = None) -> None:
    client.schema.create_class(
        {
            "class": name,
            "vectorizer": "none",
            "properties": [
                {"name": "content", "dataType": ["text"], "tokenization": "word"},
                {"name": "chunk_name", "dataType": ["text"], "tokenization": "word"},
                {"name": "kind", "dataType": ["text"], "tokenization": "field"},
            ],
        }
    )
    with client.batch as batch:
        for i, doc in enumerate(docs):
            batch.add_data_object(doc, name, uuid=str(uuid.UUID(int=i + 1)), vector=vectors[i] if vectors else [1.0, 0.0])


def _bm25(client: weaviate.Client, name: str, query: str, properties: list[str] | None = None, where: Any = None) -> list[tuple[str, float]]:
    q = client.query.get(name, ["chunk_name"]).with_bm25(query=query, properties=properties).with_additional(["score"])
    if where is not None:
        q = q.with_where(where)
    reply = q.do()
    assert "errors" not in reply, reply
    return [(item["chunk_name"], float(item["_additional"]["score"])) for item in reply["data"]["Get"][name]]


def _hybrid(client: weaviate.Client, name: str, query: str, vector: list[float], alpha: float, fusion: HybridFusion | None = None) -> list[tuple[str, float]]:
    q = client.query.get(name, ["chunk_name"]).with_hybrid(
        query=query, vector=vector, alpha=alpha, properties=["content"], fusion_type=fusion
    ).with_additional(["score", "explainScore"])
    reply = q.do()
    assert "errors" not in reply, reply
    return [(item["chunk_name"], float(item["_additional"]["score"])) for item in reply["data"]["Get"][name]]


def _names(found: list[tuple[str, float]]) -> list[str]:
    return [name for name, _ in found]


def test_a_short_chunk_repeating_the_term_beats_a_long_one_mentioning_it_once(client: weaviate.Client, class_name: str) -> None:
    _class(client, class_name, [
        {"content": "retry retry the batch", "chunk_name": "short"},
        {"content": "retry " + "filler words " * 20, "chunk_name": "long"},
        {"content": "nothing to see", "chunk_name": "none"},
    ])
    assert _names(_bm25(client, class_name, "retry", ["content"])) == ["short", "long"]


def test_a_rare_term_outweighs_a_common_one(client: weaviate.Client, class_name: str) -> None:
    _class(client, class_name, [
        {"content": "invoice total", "chunk_name": "common"},
        {"content": "total tax", "chunk_name": "also common"},
        {"content": "total sum", "chunk_name": "common too"},
        {"content": "invoice zebra", "chunk_name": "rare"},
    ])
    found = _bm25(client, class_name, "zebra total", ["content"])
    assert _names(found)[0] == "rare"


def test_english_stopwords_do_not_match(client: weaviate.Client, class_name: str) -> None:
    _class(client, class_name, [{"content": "the and of", "chunk_name": "stop"}, {"content": "zebra", "chunk_name": "z"}])
    assert _names(_bm25(client, class_name, "the zebra", ["content"])) == ["z"]


def test_a_boosted_property_decides(client: weaviate.Client, class_name: str) -> None:
    _class(client, class_name, [
        {"content": "parse parse parse config", "chunk_name": "load"},
        {"content": "read the config", "chunk_name": "parse"},
    ])
    assert _names(_bm25(client, class_name, "parse", ["content", "chunk_name"]))[0] == "load"
    assert _names(_bm25(client, class_name, "parse", ["content", "chunk_name^10"]))[0] == "parse"


def test_scores_are_bm25f_as_worked_by_hand(client: weaviate.Client, class_name: str) -> None:
    _class(client, class_name, [
        {"content": "alpha beta", "chunk_name": "a"},  # 2 tokens
        {"content": "alpha gamma delta epsilon", "chunk_name": "b"},  # 4 tokens
        {"content": "zeta", "chunk_name": "c"},  # 1 token
    ])
    found = dict(_bm25(client, class_name, "alpha", ["content"]))
    mean = (2 + 4 + 1) / 3
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    for name, length in (("a", 2), ("b", 4)):
        expected = idf * 1 / (1 + 1.2 * (1 - 0.75 + 0.75 * length / mean))
        assert found[name] == pytest.approx(expected, rel=1e-5)
    assert set(found) == {"a", "b"}


def test_a_filter_narrows_results_but_not_the_terms_rarity(client: weaviate.Client, class_name: str) -> None:
    _class(client, class_name, [
        {"content": "alpha beta", "chunk_name": "a", "kind": "keep"},
        {"content": "alpha gamma delta epsilon", "chunk_name": "b", "kind": "drop"},
        {"content": "zeta", "chunk_name": "c", "kind": "keep"},
    ])
    everything = dict(_bm25(client, class_name, "alpha", ["content"]))
    where = {"path": ["kind"], "operator": "Equal", "valueText": "keep"}
    filtered = _bm25(client, class_name, "alpha", ["content"], where)
    assert _names(filtered) == ["a"]
    assert filtered[0][1] == pytest.approx(everything["a"], rel=1e-6)


def test_hybrid_at_alpha_0_ranks_by_keywords_and_at_1_by_vectors(client: weaviate.Client, class_name: str) -> None:
    _class(
        client, class_name,
        [{"content": "zebra zebra", "chunk_name": "words"}, {"content": "nothing", "chunk_name": "meaning"}, {"content": "zebra", "chunk_name": "both"}],
        [[0.0, 1.0], [1.0, 0.0], [0.8, 0.6]],
    )
    assert _names(_hybrid(client, class_name, "zebra", [1.0, 0.0], alpha=0.0)) == ["words", "both"]
    assert _names(_hybrid(client, class_name, "zebra", [1.0, 0.0], alpha=1.0)) == ["meaning", "both", "words"]


def test_relative_score_fusion_normalises_each_side_between_0_and_its_weight(client: weaviate.Client, class_name: str) -> None:
    _class(
        client, class_name,
        [{"content": "zebra zebra", "chunk_name": "words"}, {"content": "nothing", "chunk_name": "meaning"}, {"content": "zebra", "chunk_name": "both"}],
        [[0.0, 1.0], [1.0, 0.0], [0.8, 0.6]],
    )
    found = dict(_hybrid(client, class_name, "zebra", [1.0, 0.0], alpha=0.5))
    # keyword: words best (0.5), both worst (0); vector (1 - distance): meaning 1, both 0.8, words 0 -> 0.5, 0.4, 0
    assert found["words"] == pytest.approx(0.5)
    assert found["meaning"] == pytest.approx(0.5)
    assert found["both"] == pytest.approx(0.4)


def test_ranked_fusion_scores_by_rank(client: weaviate.Client, class_name: str) -> None:
    _class(
        client, class_name,
        [{"content": "zebra zebra", "chunk_name": "words"}, {"content": "nothing", "chunk_name": "meaning"}, {"content": "zebra", "chunk_name": "both"}],
        [[0.0, 1.0], [1.0, 0.0], [0.8, 0.6]],
    )
    found = dict(_hybrid(client, class_name, "zebra", [1.0, 0.0], alpha=0.5, fusion=HybridFusion.RANKED))
    assert found["both"] == pytest.approx(0.5 / 61 + 0.5 / 61)
    assert found["words"] == pytest.approx(0.5 / 60 + 0.5 / 62)
    assert found["meaning"] == pytest.approx(0.5 / 60)
