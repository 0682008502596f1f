/**
 * Thumbs under each answer of the chat view: the buttons (HTML, escaped), the message the
 * webview posts when one is clicked, and its check. Pure: no `vscode` import. The extension
 * sends the choice to the server as `mira.feedback {operation, helpful}`.
 */

import { escapeHtml } from "./answerLinks";

/** What the webview posts: `{feedback: {operation, helpful}}`. */
export interface FeedbackChoice {
  operation: string;
  helpful: boolean;
}

/** Where an answer's feedback stands: not given, being sent, given, or failed to send. */
export type FeedbackState =
  | { kind: "none" }
  | { kind: "sending"; helpful: boolean }
  | { kind: "sent"; helpful: boolean }
  | { kind: "failed"; helpful: boolean; error: string };

// Operation ids are the server's (12 hex digits today); anything else is not sent.
const OPERATION = /^[A-Za-z0-9_-]{1,64}$/;

export function parseFeedbackMessage(msg: unknown): FeedbackChoice | undefined {
  if (typeof msg !== "object" || msg === null) {
    return undefined;
  }
  const fb = (msg as Record<string, unknown>).feedback;
  if (typeof fb !== "object" || fb === null) {
    return undefined;
  }
  const { operation, helpful } = fb as Record<string, unknown>;
  if (typeof operation !== "string" || !OPERATION.test(operation) || typeof helpful !== "boolean") {
    return undefined;
  }
  return { operation, helpful };
}

function button(operation: string, helpful: boolean, pressed: boolean, disabled: boolean): string {
  const label = helpful ? "👍 Helpful" : "👎 Not helpful";
  const title = helpful ? "This answer helped (mira.feedback)" : "This answer did not help (mira.feedback)";
  return (
    `<button class="feedback-button" data-operation="${escapeHtml(operation)}" ` +
    `data-helpful="${helpful}" aria-pressed="${pressed}" title="${escapeHtml(title)}"` +
    `${disabled ? " disabled" : ""}>${label}</button>`
  );
}

/** The thumbs under an answer (empty for an answer without an operation id). */
export function feedbackHtml(operation: string | undefined, state: FeedbackState): string {
  if (!operation || !OPERATION.test(operation)) {
    return "";
  }
  const sending = state.kind === "sending";
  const chosen = state.kind === "none" ? undefined : state.helpful;
  let status = "";
  if (state.kind === "sending") {
    status = "Sending…";
  } else if (state.kind === "sent") {
    status = state.helpful ? "Thanks: marked helpful." : "Thanks: marked not helpful.";
  } else if (state.kind === "failed") {
    status = `Not recorded: ${escapeHtml(state.error)}`;
  }
  return (
    `<p class="feedback">` +
    button(operation, true, chosen === true, sending) +
    " " +
    button(operation, false, chosen === false, sending) +
    (status ? ` <span class="feedback-status">${status}</span>` : "") +
    `</p>`
  );
}
