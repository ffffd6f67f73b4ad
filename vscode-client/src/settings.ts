// Editor settings (the `acolyte` section) -> initializationOptions, nested like `.acolyte`.

/** Sections that configure the extension itself, not the server. */
const CLIENT_ONLY = new Set(["server", "trace"]);

export type Tree = Record<string, unknown>;

/**
 * The `acolyte.*` settings as the server expects them: `{ section: { key: value } }`, with unset
 * (null) values left out so `.acolyte` and the server's defaults apply, and client-only sections dropped;
 * `workspaceTrusted` (VS Code's Workspace Trust) is passed along when given.
 */
export function initializationOptions(section: Tree, workspaceTrusted?: boolean): Tree {
  const out: Record<string, Tree> = {};
  for (const [name, value] of Object.entries(section)) {
    if (CLIENT_ONLY.has(name) || value === null || typeof value !== "object" || Array.isArray(value)) {
      continue;
    }
    const keys: Tree = {};
    for (const [key, item] of Object.entries(value as Tree)) {
      if (item !== null && item !== undefined) {
        keys[key] = item;
      }
    }
    if (Object.keys(keys).length > 0) {
      out[name] = keys;
    }
  }
  // VS Code's Workspace Trust decides whether a folder's .acolyte may say where code goes and what
  // runs; the server then asks nothing itself.
  return workspaceTrusted === undefined ? out : { ...out, workspaceTrusted };
}
