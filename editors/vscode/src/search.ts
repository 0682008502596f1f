/**
 * Mira: Search. The `mira.search` argument and its answer as quick pick items.
 * Pure (no `vscode` import): ranges are LSP shapes, 0-based UTF-16, which is what VS Code
 * positions are (the client offers no other encoding).
 */

import type { Rng } from "./commands";

export interface SearchArgs {
  query: string;
  kind?: string;
  limit?: number;
  /** The quick pick shows the results: the server need not open its markdown file. */
  open: false;
}

/** `mira.search` {query, kind?, limit?, open: false}; undefined for an empty query. */
export function searchArgs(query: string | undefined, kind?: string, limit?: number): SearchArgs | undefined {
  const q = query?.trim();
  if (!q) {
    return undefined;
  }
  const args: SearchArgs = { query: q, open: false };
  if (kind) {
    args.kind = kind;
  }
  if (limit !== undefined) {
    args.limit = limit;
  }
  return args;
}

/** One quick pick entry: label the symbol, description where, detail why and score. */
export interface SearchItem {
  label: string;
  description: string;
  detail: string;
  uri: string;
  range?: Rng;
}

function isPos(v: unknown): boolean {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as { line?: unknown }).line === "number" &&
    typeof (v as { character?: unknown }).character === "number"
  );
}

function isRange(v: unknown): v is Rng {
  return typeof v === "object" && v !== null && isPos((v as Rng).start) && isPos((v as Rng).end);
}

/** A score as the detail line shows it: four significant digits. */
export function formatScore(score: unknown): string {
  return typeof score === "number" && Number.isFinite(score) ? score.toPrecision(4) : "?";
}

/**
 * The results of a `mira.search` answer that can be opened, in the server's order (best
 * first). A commit (`collection: "git"`) has no location of its own and is left out; the
 * answer's notes say the rest.
 */
export function searchItems(result: unknown): SearchItem[] {
  const results = (result as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) {
    return [];
  }
  const items: SearchItem[] = [];
  for (const r of results) {
    if (typeof r !== "object" || r === null || typeof r.uri !== "string" || typeof r.symbol !== "string") {
      continue;
    }
    const path = typeof r.path === "string" ? r.path : r.uri;
    const where = typeof r.line === "number" ? `${path}:${r.line}` : path;
    const via = typeof r.via === "string" ? r.via : "";
    const kind = typeof r.kind === "string" && r.kind ? `${r.kind} · ` : "";
    items.push({
      label: r.symbol,
      description: where,
      detail: `${kind}${via || "?"} · score ${formatScore(r.score)}`,
      uri: r.uri,
      range: isRange(r.range) ? r.range : undefined,
    });
  }
  return items;
}

/** The answer's notes (why semantic search is off, nothing matched, ...). */
export function searchNotes(result: unknown): string[] {
  const notes = (result as { notes?: unknown } | null)?.notes;
  return Array.isArray(notes) ? notes.filter((n): n is string => typeof n === "string" && n !== "") : [];
}
