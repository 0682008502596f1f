/**
 * The palette commands and the single object argument each sends to the server.
 * Pure (no `vscode` import): positions and ranges are plain LSP shapes, 0-based UTF-16,
 * which is what VS Code positions already are.
 */

import type { Outcome } from "./chunks";

export interface Pos {
  line: number;
  character: number;
}

export interface Rng {
  start: Pos;
  end: Pos;
}

/** The active editor as the commands need it. */
export interface EditorState {
  uri: string;
  position: Pos;
  selection?: Rng;
}

export interface CommandSpec {
  /** VS Code command id (palette). Distinct from the server id, which the client registers. */
  id: string;
  title: string;
  /** Server command run through workspace/executeCommand, if the command is one. */
  server?: string;
}

/** Every command the extension contributes; package.json must list exactly these. */
export const COMMANDS: readonly CommandSpec[] = [
  { id: "mira-ls.chat", title: "Chat", server: "mira.chat" },
  { id: "mira-ls.explainSymbol", title: "Explain Symbol", server: "mira.explain" },
  { id: "mira-ls.fixError", title: "Fix Error", server: "mira.fixError" },
  { id: "mira-ls.reviewChanges", title: "Review Changes", server: "mira.reviewChanges" },
  { id: "mira-ls.search", title: "Search", server: "mira.search" },
  { id: "mira-ls.runBuild", title: "Run Build", server: "mira.runBuild" },
  { id: "mira-ls.showBudget", title: "Show Budget", server: "mira.budget" },
  { id: "mira-ls.resumeBudget", title: "Resume Budget", server: "mira.resumeBudget" },
  { id: "mira-ls.cacheStats", title: "Cache Stats", server: "mira.cacheStats" },
  { id: "mira-ls.clearCache", title: "Clear Cache", server: "mira.clearCache" },
  { id: "mira-ls.reindex", title: "Reindex", server: "mira.reindex" },
  { id: "mira-ls.openReport", title: "Open Report", server: "mira.openReport" },
  { id: "mira-ls.showChat", title: "Show Chat" },
  { id: "mira-ls.currentTask", title: "Current Task" },
  { id: "mira-ls.setApiKey", title: "Set API Key" },
  { id: "mira-ls.clearApiKey", title: "Clear API Key" },
  { id: "mira-ls.restartServer", title: "Restart Server" },
  { id: "mira-ls.showServerLog", title: "Show Server Log" },
];

/** Commands whose answer streams into the chat view. */
export const CHAT_COMMANDS = new Set(["mira.chat", "mira.explain", "mira.fixError"]);

export function spec(id: string): CommandSpec {
  const found = COMMANDS.find((c) => c.id === id);
  if (!found) {
    throw new Error(`unknown command ${id}`);
  }
  return found;
}

function isEmpty(r: Rng): boolean {
  return r.start.line === r.end.line && r.start.character === r.end.character;
}

export interface ChatArgs {
  question?: string;
  uri?: string;
  position?: Pos;
  range?: Rng;
}

/** `mira.chat` {question, uri, position, range}: the selection is sent only when non-empty. */
export function chatArgs(question: string | undefined, editor?: EditorState): ChatArgs {
  const args: ChatArgs = {};
  const q = question?.trim();
  if (q) {
    args.question = q;
  }
  if (editor) {
    args.uri = editor.uri;
    args.position = editor.position;
    if (editor.selection && !isEmpty(editor.selection)) {
      args.range = editor.selection;
    }
  }
  return args;
}

/** `mira.explain` {uri, position}. */
export function explainArgs(editor?: EditorState): { uri?: string; position?: Pos } {
  return editor ? { uri: editor.uri, position: editor.position } : {};
}

/** `mira.fixError` {uri, diagnostic}: the diagnostic in LSP form, as the server published it. */
export function fixErrorArgs(uri: string | undefined, diagnostic: unknown): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  if (uri) {
    args.uri = uri;
  }
  if (diagnostic !== undefined) {
    args.diagnostic = diagnostic;
  }
  return args;
}

function before(a: Pos, b: Pos): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

export function contains(r: Rng, p: Pos): boolean {
  return !before(p, r.start) && !before(r.end, p);
}

/**
 * Diagnostics the Fix Error command offers: those under the cursor, else those on its line,
 * else all of the file (errors first, then by position).
 */
export function diagnosticsAt<T extends { range: Rng; severity?: number }>(
  diagnostics: readonly T[],
  position: Pos,
): T[] {
  const order = (a: T, b: T): number =>
    (a.severity ?? 9) - (b.severity ?? 9) ||
    a.range.start.line - b.range.start.line ||
    a.range.start.character - b.range.start.character;
  const under = diagnostics.filter((d) => contains(d.range, position));
  if (under.length) {
    return [...under].sort(order);
  }
  const line = diagnostics.filter(
    (d) => d.range.start.line <= position.line && position.line <= d.range.end.line,
  );
  if (line.length) {
    return [...line].sort(order);
  }
  return [...diagnostics].sort(order);
}

/** The workspace/executeCommand params: one object argument, always. */
export function executeParams(
  command: string,
  arg: object = {},
): { command: string; arguments: [object] } {
  return { command, arguments: [arg] };
}

/** A sentence when the running server does not advertise `command`, else undefined. */
export function missingCommand(advertised: readonly string[] | undefined, command: string): string | undefined {
  if (advertised === undefined) {
    return "The Mira server is not running. Check the Mira server log (Mira: Show Server Log).";
  }
  if (!advertised.includes(command)) {
    return `The running mira-ls does not offer ${command}. Update mira-ls (pip install -U from your checkout) and restart the server.`;
  }
  return undefined;
}

/** A one-line, human summary of a command's JSON result for a notification. */
export function describeResult(result: unknown): string {
  if (result === null || result === undefined) {
    return "Done.";
  }
  if (typeof result === "string") {
    return result;
  }
  if (typeof result !== "object") {
    return String(result);
  }
  const obj = result as Record<string, unknown>;
  for (const key of ["message", "summary", "text"]) {
    if (typeof obj[key] === "string" && obj[key]) {
      return obj[key] as string;
    }
  }
  const parts = Object.entries(obj).map(([k, v]) => `${humanKey(k)}: ${scalar(v)}`);
  return parts.length ? parts.join(", ") : "Done.";
}

function humanKey(key: string): string {
  return key
    .replace(/_/g, " ")
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase();
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) {
    return "none";
  }
  if (typeof value === "number") {
    return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
  }
  if (typeof value === "object") {
    if (Array.isArray(value)) {
      return `${value.length} item${value.length === 1 ? "" : "s"}`;
    }
    return (
      "{" +
      Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${humanKey(k)}: ${typeof v === "object" && v !== null ? "…" : scalar(v)}`)
        .join(", ") +
      "}"
    );
  }
  return String(value);
}

/**
 * A chat-type command's result as the transcript shows it: the server answers
 * {text, cost, notes, ...} on success and {error, kind} when it could not answer.
 */
export function chatOutcome(result: unknown): Outcome {
  if (typeof result === "object" && result !== null) {
    const obj = result as Record<string, unknown>;
    if (typeof obj.error === "string" && obj.error) {
      return { error: obj.error };
    }
    const notes = Array.isArray(obj.notes) ? obj.notes.filter((n): n is string => typeof n === "string") : [];
    return {
      text: resultText(result) ?? describeResult(result),
      cost: typeof obj.cost === "string" && obj.cost ? obj.cost : undefined,
      notes: notes.length ? notes : undefined,
      operation: typeof obj.id === "string" && obj.id ? obj.id : undefined,
    };
  }
  return { text: resultText(result) ?? describeResult(result) };
}

/** Text of a chat command's result when it arrived without streaming. */
export function resultText(result: unknown): string | undefined {
  if (typeof result === "string") {
    return result;
  }
  if (typeof result === "object" && result !== null) {
    const obj = result as Record<string, unknown>;
    for (const key of ["answer", "text", "markdown", "message"]) {
      if (typeof obj[key] === "string" && obj[key]) {
        return obj[key] as string;
      }
    }
  }
  return undefined;
}

/** One caller location from `mira.callers` (what the "N callers" code lens runs). */
export interface CallerLocation {
  uri: string;
  range: Rng;
  name?: string;
}

function isPos(v: unknown): v is Pos {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as Pos).line === "number" &&
    typeof (v as Pos).character === "number"
  );
}

/** The well-formed locations of a `mira.callers` result; anything else is dropped. */
export function callerLocations(result: unknown): CallerLocation[] {
  if (!Array.isArray(result)) {
    return [];
  }
  return result.filter(
    (r): r is CallerLocation =>
      typeof r === "object" &&
      r !== null &&
      typeof r.uri === "string" &&
      typeof r.range === "object" &&
      r.range !== null &&
      isPos(r.range.start) &&
      isPos(r.range.end),
  );
}
