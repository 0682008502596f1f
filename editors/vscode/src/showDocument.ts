/**
 * Whether a `window/showDocument` from the server is a chat answer the chat view already
 * shows. The server writes every answer to a markdown file and asks the editor to open it (so
 * editors without a chat view can read it); in VS Code the streamed chat view shows the same
 * text, so by default the file is only linked, not opened in another tab. Pure.
 */

export interface ShowDocumentContext {
  /** `mira.ui.openAnswerFiles`. */
  openAnswerFiles: boolean;
  /** Chat-type commands still waiting for their response. */
  chatsPending: number;
  /** Milliseconds since the last chat-type command ended; undefined if none did. */
  msSinceLastChat?: number;
  /** A command meant to open a document (Open Report) is running: always open. */
  openRequested?: boolean;
}

/** A chat's document arrives while its command runs or just after; a report comes alone. */
export const CHAT_DOCUMENT_WINDOW_MS = 5000;

export function keepInChatView(
  params: { uri: string; external?: boolean },
  ctx: ShowDocumentContext,
): boolean {
  if (ctx.openAnswerFiles || ctx.openRequested || params.external) {
    return false;
  }
  if (!params.uri.startsWith("file:") || !/\.(md|markdown)$/i.test(params.uri)) {
    return false;
  }
  const recent = ctx.msSinceLastChat !== undefined && ctx.msSinceLastChat <= CHAT_DOCUMENT_WINDOW_MS;
  return ctx.chatsPending > 0 || recent;
}
