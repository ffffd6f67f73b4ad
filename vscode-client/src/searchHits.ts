/** `acolyte.search` results as quick-pick items (no VS Code API here, so it is tested without an editor). */

export type Hit = {
  uri: string;
  range: { start: { line: number } };
  name: string;
  kind: string;
  score: number;
  preview: string;
  fresh?: boolean; // false: the file changed on disk after this chunk was indexed
};

export type HitItem = { label: string; description: string; detail: string; hit: Hit };

/** One quick-pick row: the name, where it is (with `relativePath` of the hit's URI), the score, and the first line. */
export function hitItem(hit: Hit, relativePath: string): HitItem {
  const stale = hit.fresh === false ? " · changed since indexed" : "";
  return {
    label: hit.name,
    description: `${relativePath}:${hit.range.start.line + 1} · ${hit.score.toFixed(3)}${stale}`,
    detail: hit.preview.split("\n")[0],
    hit,
  };
}
