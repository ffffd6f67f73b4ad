import assert from "node:assert/strict";
import { test } from "node:test";
import { statusBarText } from "../src/status";

const roots = [{ path: "/a", chunks_in_weaviate: 1200 }, { path: "/b", chunks_in_weaviate: 34 }];

test("idle shows the chunk count of every folder", () => {
  assert.equal(statusBarText({ state: "idle", roots, last_error: null }).text, "$(database) ACOLYTE 1,234 chunks");
});

test("indexing spins", () => {
  assert.equal(statusBarText({ state: "indexing", roots, last_error: null }).text, "$(sync~spin) ACOLYTE indexing");
});

test("a problem shows the state and the error as tooltip", () => {
  const shown = statusBarText({ state: "waiting for Weaviate", roots, last_error: "Cannot reach Weaviate" });
  assert.equal(shown.text, "$(warning) ACOLYTE: waiting for Weaviate");
  assert.equal(shown.tooltip, "Cannot reach Weaviate");
});

test("no server", () => {
  assert.equal(statusBarText(undefined).text, "$(circle-slash) ACOLYTE");
});
