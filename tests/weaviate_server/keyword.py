"""Keyword (BM25F) search and hybrid fusion, as Weaviate 1.24/1.25 computes them.

Written from Weaviate's documentation and its source (adapters/repos/db/inverted/
bm25_searcher.go, usecases/traverser/hybrid): per query term, the term's
frequency is summed over the searched properties (times each property's
boost) and so is the length of the properties it occurs in; idf is
ln(1 + (N - n + 0.5) / (n + 0.5)) with N every object of the class and n the
objects holding the term (a filter narrows the results, not n), times the
term's count in the query; a document scores
    sum over terms of idf * f / (f + k1 * (1 - b + b * length / mean length))
where the mean length is the mean over the searched properties of each one's
mean length. English stopwords leave `word`-tokenized queries. Hybrid search
fuses a keyword and a vector result set (each up to max(100, limit) long) by
relative scores (the default since 1.24) or by ranks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_K1 = 1.2
DEFAULT_B = 0.75
DEFAULT_ALPHA = 0.75
HYBRID_SUBSEARCH_LIMIT = 100  # hybrid.DefaultLimit: each side returns at least this many
RANKED_FUSION_K = 60
# Weaviate's "en" stopword preset (the default).
EN_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with".split()
)
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits: Weaviate's `word` tokenization


def tokenize(text: str, tokenization: str) -> list[str]:
    """A property value (or a query) cut into terms the way its tokenization says."""
    if tokenization == "word":
        return _WORD.findall(text.lower())
    if tokenization == "lowercase":
        return text.lower().split()
    if tokenization == "whitespace":
        return text.split()
    if tokenization == "field":
        return [text.strip()] if text.strip() else []
    raise ValueError(f"cannot handle tokenization '{tokenization}'")


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


@dataclass(frozen=True)
class SearchedProperty:
    name: str
    tokenization: str
    boost: float


def class_stopwords(class_body: dict[str, Any]) -> frozenset[str]:
    """The class's stopwords: its preset ("en" unless set; "none" is empty), plus additions, minus removals."""
    config = (class_body.get("invertedIndexConfig") or {}).get("stopwords") or {}
    words = set(EN_STOPWORDS if config.get("preset", "en") == "en" else ())
    words |= set(config.get("additions") or ())
    words -= set(config.get("removals") or ())
    return frozenset(words)


def searched_properties(class_body: dict[str, Any], asked: Sequence[str] | None) -> list[SearchedProperty]:
    """`properties` of a bm25/hybrid search (with `^boost`), or every searchable text property."""
    by_name = {p["name"]: p for p in class_body["properties"]}
    out = []
    names = list(asked) if asked else [
        p["name"] for p in class_body["properties"] if p["dataType"][0] in ("text", "text[]") and p.get("indexSearchable", True)
    ]
    for entry in names:
        name, _, boost = str(entry).partition("^")
        prop = by_name.get(name)
        if prop is None:
            raise KeywordSearchError(f"no such prop with name '{name}' found in class '{class_body['class']}' in the schema")
        if prop["dataType"][0] not in ("text", "text[]"):
            raise KeywordSearchError(f"cannot handle datatype '{prop['dataType'][0]}' of property '{name}'")
        if not prop.get("indexSearchable", True):
            raise KeywordSearchError(f"property '{name}' has no searchable index")
        out.append(SearchedProperty(name, prop.get("tokenization", "word"), float(int(boost)) if boost.isdigit() else 1.0))
    return out


class KeywordSearchError(Exception):
    """A keyword search Weaviate refuses (reported as a GraphQL error)."""


def bm25(
    everything: Iterable[Any],
    allowed: set[str] | None,
    query: str,
    properties: Sequence[SearchedProperty],
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
    stopwords: frozenset[str] = EN_STOPWORDS,
    lengths_count_repeats: bool = False,
) -> list[tuple[Any, float]]:
    """(object, score) for the objects holding a query term, best first; `allowed` ids when filtered."""
    objects = list(everything)
    total = len(objects)
    # Every object's term counts and lengths per searched property (what Weaviate keeps in its index).
    counts: dict[str, list[tuple[Counter[str], int] | None]] = {}
    mean_lengths = []
    for prop in properties:
        column: list[tuple[Counter[str], int] | None] = []
        lengths = []
        for obj in objects:
            key = (prop.name, prop.tokenization)
            if key not in obj.terms:  # what Weaviate's inverted index holds, built once per object
                values = _values(obj.properties.get(prop.name))
                tokens = [t for v in values for t in tokenize(v, prop.tokenization)]
                obj.terms[key] = (Counter(tokens), len(tokens)) if values else None
            entry = obj.terms[key]
            if entry is not None:
                # Weaviate's mean property length counts each distinct term once; a document's own
                # length does too up to 1.25, while newer versions' inverted buckets count repeats.
                distinct = len(entry[0])
                entry = (entry[0], entry[1] if lengths_count_repeats else distinct)
                lengths.append(distinct)
            column.append(entry)
        counts[prop.name] = column
        mean_lengths.append(sum(lengths) / len(lengths) if lengths else 0.0)
    mean_length = sum(mean_lengths) / len(mean_lengths) if mean_lengths else 0.0
    scores: dict[int, float] = {}
    for tokenization in dict.fromkeys(p.tokenization for p in properties):
        props = [p for p in properties if p.tokenization == tokenization]
        terms = Counter(tokenize(query, tokenization))
        if tokenization == "word":
            terms = Counter({t: c for t, c in terms.items() if t not in stopwords})
        for term, repeats in terms.items():
            holders: dict[int, tuple[float, int]] = {}
            for prop in props:
                for index, entry in enumerate(counts[prop.name]):
                    if entry is None or term not in entry[0]:
                        continue
                    frequency, length = holders.get(index, (0.0, 0))
                    holders[index] = (frequency + entry[0][term] * prop.boost, length + entry[1])
            if not holders:
                continue
            n = len(holders)
            idf = math.log(1 + (total - n + 0.5) / (n + 0.5)) * repeats
            for index, (frequency, length) in holders.items():
                if allowed is not None and objects[index].id not in allowed:
                    continue
                norm = k1 * (1 - b + b * length / mean_length) if mean_length else k1
                scores[index] = scores.get(index, 0.0) + idf * frequency / (frequency + norm)
    ranked = sorted(scores.items(), key=lambda item: (-_f32(item[1]), objects[item[0]].id))
    return [(objects[index], _f32(score)) for index, score in ranked]


def fuse(
    keyword: Sequence[tuple[Any, float]] | None,
    vector: Sequence[tuple[Any, float]] | None,
    alpha: float,
    fusion: str,
) -> list[tuple[Any, float, str]]:
    """Hybrid results (object, score, explainScore), best first, from a keyword set (scores) and a
    vector set (1 - distance), weighted 1 - alpha and alpha."""
    sets = [(name, weight, found) for name, weight, found in (("keyword", 1 - alpha, keyword), ("vector", alpha, vector)) if found is not None]
    fused: dict[str, list[Any]] = {}  # id -> [object, score, secondary, explanation]
    for name, weight, found in sets:
        values = [v for _, v in found]
        low, high = (min(values), max(values)) if values else (0.0, 0.0)
        for rank, (obj, value) in enumerate(found):
            if fusion == "rankedFusion":
                score = weight / (rank + RANKED_FUSION_K)
            else:
                score = weight * ((value - low) / (high - low)) if high != low else weight
            explain = f"Hybrid (Result Set {name}) Document {obj.id}: original score {_f32(value)}, normalized score: {_f32(score)}"
            entry = fused.get(obj.id)
            if entry is None:
                fused[obj.id] = [obj, score, value, explain]
            else:
                entry[1] += score
                entry[3] = f"{explain} - {entry[3]}"
    ranked = sorted(fused.values(), key=lambda e: (-_f32(e[1]), -e[2], e[0].id))
    return [(obj, _f32(score), explain) for obj, score, _, explain in ranked]


def _f32(value: float) -> float:
    """As Weaviate keeps scores: float32."""
    return float(np.float32(value))


def score_text(value: float) -> str:
    """A score as Weaviate's GraphQL writes it: a string, Go's shortest form of the float32."""
    return np.format_float_positional(np.float32(value), trim="-")
