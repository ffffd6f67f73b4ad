import assert from "node:assert/strict";
import { test } from "node:test";
import { initializationOptions } from "../src/settings";

test("unset settings are left out so .acolyte and defaults apply", () => {
  const options = initializationOptions({
    weaviate: { url: "http://db:8080", class_name: null, num_workers: null },
    search: { weaviate_batch_size: null },
  });
  assert.deepEqual(options, { weaviate: { url: "http://db:8080" } });
});

test("client-only sections never reach the server", () => {
  const options = initializationOptions({ server: { command: ["x"] }, trace: { server: "verbose" }, indexing: { exclude: ["gen/"] } });
  assert.deepEqual(options, { indexing: { exclude: ["gen/"] } });
});

test("the workspace's trust state is passed to the server when known", () => {
  assert.deepEqual(initializationOptions({ indexing: { chunk_lines: 20 } }, false), {
    indexing: { chunk_lines: 20 },
    workspaceTrusted: false,
  });
  assert.deepEqual(initializationOptions({}, true), { workspaceTrusted: true });
  assert.deepEqual(initializationOptions({}), {});
});
