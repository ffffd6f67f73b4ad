// Finding acolyte-lsp as users install it.

export interface ServerCommand {
  command: string;
  args: string[];
  how: string; // where it came from, for the output channel
}

export interface Probes {
  /** The absolute path of an executable found on PATH, or undefined. */
  onPath(name: string): string | undefined;
  /** Whether `python -c "import acolyte_lsp"` succeeds. */
  pythonHasServer(python: string): boolean;
}

export class ServerNotFound extends Error {}

/** A configured command, else `acolyte-lsp` on PATH, else the chosen Python's `-m acolyte_lsp`. */
export function resolveServerCommand(configured: string[], python: string, probes: Probes): ServerCommand {
  if (configured.length > 0) {
    return { command: configured[0], args: configured.slice(1), how: "acolyte.server.command" };
  }
  const onPath = probes.onPath("acolyte-lsp");
  if (onPath) {
    return { command: onPath, args: [], how: "acolyte-lsp on PATH" };
  }
  if (probes.pythonHasServer(python)) {
    return { command: python, args: ["-m", "acolyte_lsp"], how: `${python} -m acolyte_lsp` };
  }
  throw new ServerNotFound(
    `acolyte-lsp was not found: not configured (acolyte.server.command), not on PATH, and ${python} cannot import acolyte_lsp.`,
  );
}

export const INSTALL_HELP = [
  "Install the server with:  pip install acolyte-lsp   (or, from a checkout: ./run.sh serve)",
  "Then either put acolyte-lsp on PATH, set acolyte.server.python to that Python,",
  'or set acolyte.server.command, e.g. ["/path/to/.venv/bin/acolyte-lsp"].',
].join("\n");
