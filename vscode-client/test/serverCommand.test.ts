import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveServerCommand, ServerNotFound } from "../src/serverCommand";

const nothing = { onPath: () => undefined, pythonHasServer: () => false };

test("a configured command wins", () => {
  const resolved = resolveServerCommand(["/venv/bin/python", "-m", "acolyte_lsp"], "python3", nothing);
  assert.deepEqual([resolved.command, resolved.args], ["/venv/bin/python", ["-m", "acolyte_lsp"]]);
});

test("then acolyte-lsp on PATH", () => {
  const resolved = resolveServerCommand([], "python3", { ...nothing, onPath: () => "/usr/local/bin/acolyte-lsp" });
  assert.equal(resolved.command, "/usr/local/bin/acolyte-lsp");
});

test("then the chosen Python's -m acolyte_lsp", () => {
  const resolved = resolveServerCommand([], "/opt/py/bin/python", { ...nothing, pythonHasServer: (p) => p === "/opt/py/bin/python" });
  assert.deepEqual([resolved.command, resolved.args], ["/opt/py/bin/python", ["-m", "acolyte_lsp"]]);
});

test("nothing found is a clear error", () => {
  assert.throws(() => resolveServerCommand([], "python3", nothing), ServerNotFound);
});
