/**
 * Assembly of streamed `mira/chatChunk` notifications ({id, seq, text, done}) into answers,
 * and the markdown transcript the chat view shows. Pure: no `vscode` import.
 *
 * Chunks are ordered by `seq`, duplicates are ignored and a late chunk still lands in its
 * place, so the text shown is right even if notifications arrive out of order or twice.
 */

import type { FeedbackState } from "./feedback";

export interface ChatChunk {
  id: string | number;
  seq: number;
  text: string;
  done: boolean;
}

export function isChatChunk(value: unknown): value is ChatChunk {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return (
    (typeof v.id === "string" || typeof v.id === "number") &&
    typeof v.seq === "number" &&
    Number.isFinite(v.seq) &&
    typeof v.text === "string" &&
    typeof v.done === "boolean"
  );
}

interface Answer {
  parts: Map<number, string>;
  doneSeq?: number;
}

export class ChunkAssembler {
  private readonly answers = new Map<string, Answer>();

  /** Adds a chunk; returns false when it was a duplicate and changed nothing. */
  add(chunk: ChatChunk): boolean {
    const key = String(chunk.id);
    let answer = this.answers.get(key);
    if (!answer) {
      answer = { parts: new Map() };
      this.answers.set(key, answer);
    }
    const known = answer.parts.get(chunk.seq);
    const changedDone = chunk.done && answer.doneSeq === undefined;
    if (chunk.done && (answer.doneSeq === undefined || chunk.seq > answer.doneSeq)) {
      answer.doneSeq = chunk.seq;
    }
    if (known !== undefined) {
      return changedDone;
    }
    answer.parts.set(chunk.seq, chunk.text);
    return true;
  }

  has(id: string | number): boolean {
    return this.answers.has(String(id));
  }

  /** The text received so far, in seq order. */
  text(id: string | number): string {
    const answer = this.answers.get(String(id));
    if (!answer) {
      return "";
    }
    return [...answer.parts.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, t]) => t)
      .join("");
  }

  /** Done once the final chunk arrived and no chunk before it is missing. */
  isDone(id: string | number): boolean {
    const answer = this.answers.get(String(id));
    if (!answer || answer.doneSeq === undefined) {
      return false;
    }
    const seqs = [...answer.parts.keys()].filter((s) => s <= answer.doneSeq!);
    const first = Math.min(...seqs);
    return seqs.length === answer.doneSeq - first + 1;
  }

  /** Seqs missing below the highest one seen: the gaps still expected. */
  missing(id: string | number): number[] {
    const answer = this.answers.get(String(id));
    if (!answer || answer.parts.size === 0) {
      return [];
    }
    const seqs = [...answer.parts.keys()];
    const lo = Math.min(...seqs);
    const hi = Math.max(...seqs);
    const out: number[] = [];
    for (let s = lo; s <= hi; s++) {
      if (!answer.parts.has(s)) {
        out.push(s);
      }
    }
    return out;
  }
}

/** One exchange in the transcript: what was asked, and the answer or error it got. */
export interface Exchange {
  readonly label: string;
  chunkId?: string;
  /** Text of a result that arrived without streaming (e.g. a cached answer). */
  resultText?: string;
  error?: string;
  /** The answer's cost line and notes, as the server reported them. */
  cost?: string;
  notes?: string[];
  /** The server's operation id of the answer (what mira.feedback names). */
  operation?: string;
  feedback?: FeedbackState;
  finished: boolean;
}

/** What a chat-type command's result says, in the transcript's terms. */
export interface Outcome {
  text?: string;
  error?: string;
  cost?: string;
  notes?: string[];
  operation?: string;
}

/** One exchange of the transcript as the chat view draws it: its markdown and thumbs. */
export interface Block {
  markdown: string;
  operation?: string;
  feedback: FeedbackState;
}

/**
 * The chat view's content. A request is begun before its chunks arrive and the server picks
 * the chunk id, so the first chunk with an unknown id belongs to the oldest request still
 * waiting for one (requests are answered in order they were sent).
 */
export class ChatTranscript {
  readonly chunks = new ChunkAssembler();
  private readonly exchanges: Exchange[] = [];

  begin(label: string): Exchange {
    const ex: Exchange = { label, finished: false };
    this.exchanges.push(ex);
    return ex;
  }

  /** Adds a chunk; returns the exchange it belongs to (a new one for an unasked answer). */
  onChunk(chunk: ChatChunk): Exchange {
    const id = String(chunk.id);
    let ex = this.exchanges.find((e) => e.chunkId === id);
    if (!ex) {
      ex = this.exchanges.find((e) => e.chunkId === undefined && !e.finished);
      if (ex) {
        ex.chunkId = id;
      } else {
        ex = { label: "Answer", chunkId: id, finished: false };
        this.exchanges.push(ex);
      }
    }
    this.chunks.add(chunk);
    return ex;
  }

  /** The request ended: keep a non-streamed result or the error for display. */
  finish(ex: Exchange, outcome: Outcome): void {
    ex.finished = true;
    ex.cost = outcome.cost;
    ex.notes = outcome.notes;
    ex.operation = outcome.operation;
    if (outcome.error) {
      ex.error = outcome.error;
    } else if (outcome.text && !(ex.chunkId && this.chunks.text(ex.chunkId))) {
      ex.resultText = outcome.text;
    }
  }

  get size(): number {
    return this.exchanges.length;
  }

  answerText(ex: Exchange): string {
    return ex.chunkId ? this.chunks.text(ex.chunkId) : (ex.resultText ?? "");
  }

  streaming(ex: Exchange): boolean {
    if (ex.error) {
      return false;
    }
    if (ex.chunkId) {
      return !this.chunks.isDone(ex.chunkId);
    }
    return !ex.finished;
  }

  /** The exchange of an answer, by its operation id. */
  byOperation(operation: string): Exchange | undefined {
    return this.exchanges.find((e) => e.operation === operation);
  }

  /** Records where an answer's feedback stands; false when no answer has that id. */
  setFeedback(operation: string, state: FeedbackState): boolean {
    const ex = this.byOperation(operation);
    if (!ex) {
      return false;
    }
    ex.feedback = state;
    return true;
  }

  /** Markdown, newest exchange first so a new answer is visible without scrolling. */
  render(): string {
    if (this.exchanges.length === 0) {
      return EMPTY;
    }
    return this.blocks()
      .map((b) => b.markdown)
      .join("\n---\n\n");
  }

  /** Each exchange, newest first; an answer that finished with an operation id has thumbs. */
  blocks(): Block[] {
    return [...this.exchanges].reverse().map((ex) => ({
      markdown: this.markdownOf(ex),
      operation: ex.finished && !ex.error ? ex.operation : undefined,
      feedback: ex.feedback ?? { kind: "none" },
    }));
  }

  private markdownOf(ex: Exchange): string {
    const lines = [`### ${escapeHeading(ex.label)}`, ""];
    const text = this.answerText(ex);
    if (text) {
      lines.push(text.trimEnd(), "");
    }
    if (ex.error) {
      lines.push(`> **Error:** ${ex.error}`, "");
    } else if (this.streaming(ex)) {
      lines.push(text ? "_… still answering_" : "_Waiting for the answer…_", "");
    }
    for (const note of ex.notes ?? []) {
      lines.push(`> ${note.replace(/\r?\n/g, " ")}`, "");
    }
    if (ex.cost) {
      lines.push(`_${ex.cost}_`, "");
    }
    return lines.join("\n");
  }
}

export const EMPTY = "_No questions yet. Run **Mira: Chat** or **Mira: Explain Symbol**._\n";

function escapeHeading(label: string): string {
  return label.replace(/\r?\n/g, " ").replace(/^#+\s*/, "");
}
