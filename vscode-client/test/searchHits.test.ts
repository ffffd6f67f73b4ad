import assert from "node:assert/strict";
import { test } from "node:test";
import { hitItem } from "../src/searchHits";

const hit = { uri: "file:///w/a.py", range: { start: { line: 4 } }, name: "parse", kind: "FUNCTION", score: 0.51234, preview: "def parse():\n    pass" };

test("a result shows where it is, its score and its first line", () => {
  const item = hitItem({ ...hit, fresh: true }, "a.py");
  assert.equal(item.label, "parse");
  assert.equal(item.description, "a.py:5 · 0.512");
  assert.equal(item.detail, "def parse():");
});

test("a result whose file changed since it was indexed says so", () => {
  assert.equal(hitItem({ ...hit, fresh: false }, "a.py").description, "a.py:5 · 0.512 · changed since indexed");
});
