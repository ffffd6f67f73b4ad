// The status bar item's text, from acolyte.indexStatus.

export interface RootStatus {
  path: string;
  chunks_in_weaviate: number | null;
}

export interface IndexStatus {
  state: string;
  roots: RootStatus[];
  last_error: string | null;
  queue?: { changes_waiting: number };
}

export interface StatusBarText {
  text: string;
  tooltip: string;
}

/** "$(sync~spin) ACOLYTE indexing", "$(database) ACOLYTE 1,234 chunks", "$(warning) ACOLYTE: waiting for Weaviate". */
export function statusBarText(status: IndexStatus | undefined): StatusBarText {
  if (!status) {
    return { text: "$(circle-slash) ACOLYTE", tooltip: "acolyte-lsp is not running" };
  }
  const chunks = status.roots.reduce((sum, root) => sum + (root.chunks_in_weaviate ?? 0), 0);
  const count = `${chunks.toLocaleString("en-US")} chunks`;
  switch (status.state) {
    case "indexing":
      return { text: "$(sync~spin) ACOLYTE indexing", tooltip: `Indexing · ${count} so far` };
    case "idle":
      return { text: `$(database) ACOLYTE ${count}`, tooltip: `Index up to date · ${status.roots.length} folder(s)` };
    case "starting":
      return { text: "$(loading~spin) ACOLYTE", tooltip: "Connecting to Weaviate" };
    default:
      return {
        text: `$(warning) ACOLYTE: ${status.state}`,
        tooltip: status.last_error ?? status.state,
      };
  }
}
