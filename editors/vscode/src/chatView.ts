/**
 * The "Mira Chat" panel: a webview that renders the transcript's markdown with VS Code's own
 * markdown renderer (`markdown.api.render`, from the built-in Markdown extension), updated as
 * `mira/chatChunk` notifications stream in.
 */

import * as crypto from "node:crypto";
import * as vscode from "vscode";

import { answerLinksHtml, escapeHtml } from "./answerLinks";
import { ChatTranscript, EMPTY } from "./chunks";
import { FeedbackChoice, feedbackHtml, parseFeedbackMessage } from "./feedback";

export class ChatView implements vscode.Disposable {
  readonly transcript = new ChatTranscript();
  private panel: vscode.WebviewPanel | undefined;
  private pending: NodeJS.Timeout | undefined;
  private readonly answerLinks: string[] = [];

  /** ``onFeedback``: a thumb under an answer was clicked (the extension sends mira.feedback). */
  constructor(private readonly onFeedback: (choice: FeedbackChoice) => void = () => undefined) {}

  /** Opens (or reveals) the panel beside the editor without taking focus. */
  show(): void {
    if (this.panel) {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    const nonce = crypto.randomBytes(16).toString("base64");
    this.panel = vscode.window.createWebviewPanel(
      "miraChat",
      "Mira Chat",
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, enableCommandUris: false, retainContextWhenHidden: true },
    );
    this.panel.webview.html = shell(this.panel.webview.cspSource, nonce);
    this.panel.webview.onDidReceiveMessage((msg: { open?: unknown }) => {
      if (typeof msg?.open === "string") {
        void openLink(msg.open);
        return;
      }
      const choice = parseFeedbackMessage(msg);
      if (choice && this.transcript.byOperation(choice.operation)) {
        this.onFeedback(choice);
      }
    });
    this.panel.onDidDispose(() => {
      this.panel = undefined;
    });
    this.refresh();
  }

  /** Records an answer file the server wrote, linked under the transcript. */
  linkAnswerFile(uri: string): void {
    this.answerLinks.unshift(uri);
    this.answerLinks.splice(5);
    this.refresh();
  }

  /** Re-renders soon; chunks arrive faster than a render is worth. */
  refresh(): void {
    if (!this.panel || this.pending) {
      return;
    }
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.render();
    }, 50);
  }

  private async render(): Promise<void> {
    const panel = this.panel;
    if (!panel) {
      return;
    }
    const blocks = this.transcript.blocks();
    const parts: string[] = [];
    for (const block of blocks) {
      // Each answer rendered on its own, so its thumbs sit right under it.
      parts.push((await renderMarkdown(block.markdown)) + feedbackHtml(block.operation, block.feedback));
    }
    let html = blocks.length ? parts.join("<hr>") : await renderMarkdown(EMPTY);
    // Links to the answer files as HTML: markdown-it does not render file: links.
    html += answerLinksHtml(this.answerLinks);
    await panel.webview.postMessage({ html });
  }

  dispose(): void {
    if (this.pending) {
      clearTimeout(this.pending);
    }
    this.panel?.dispose();
  }
}

async function renderMarkdown(markdown: string): Promise<string> {
  try {
    return await vscode.commands.executeCommand<string>("markdown.api.render", markdown);
  } catch {
    return `<pre>${escapeHtml(markdown)}</pre>`;
  }
}

/** Links in answers: files open in an editor, web links in the browser, nothing else. */
async function openLink(href: string): Promise<void> {
  let uri: vscode.Uri;
  try {
    uri = vscode.Uri.parse(href, true);
  } catch {
    return;
  }
  if (uri.scheme === "file") {
    await vscode.window.showTextDocument(uri, { preview: true, viewColumn: vscode.ViewColumn.One });
  } else if (uri.scheme === "https" || uri.scheme === "http") {
    await vscode.env.openExternal(uri);
  }
}

function shell(cspSource: string, nonce: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} https: data:; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>
  body { font-family: var(--vscode-markdown-font-family, var(--vscode-font-family)); font-size: var(--vscode-markdown-font-size, 14px); line-height: 1.5; padding: 0 16px; }
  pre, code { font-family: var(--vscode-editor-font-family); }
  pre { background: var(--vscode-textCodeBlock-background); padding: 8px; overflow-x: auto; white-space: pre-wrap; }
  blockquote { border-left: 3px solid var(--vscode-inputValidation-errorBorder); margin: 0; padding-left: 8px; }
  .feedback-button { font: inherit; color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); border: none; padding: 2px 8px; cursor: pointer; }
  .feedback-button[aria-pressed="true"] { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
  .feedback-status { opacity: 0.8; }
</style>
</head>
<body>
<div id="root"><p><em>Loading…</em></p></div>
<script nonce="${nonce}">
  const root = document.getElementById("root");
  window.addEventListener("message", (event) => {
    if (typeof event.data?.html === "string") { root.innerHTML = event.data.html; }
  });
  const vscodeApi = acquireVsCodeApi();
  document.addEventListener("click", (event) => {
    const thumb = event.target.closest ? event.target.closest("button[data-operation]") : null;
    if (thumb) {
      vscodeApi.postMessage({ feedback: { operation: thumb.getAttribute("data-operation"), helpful: thumb.getAttribute("data-helpful") === "true" } });
      return;
    }
    const link = event.target.closest ? event.target.closest("a[href]") : null;
    if (link) { event.preventDefault(); vscodeApi.postMessage({ open: link.getAttribute("href") }); }
  });
</script>
</body>
</html>`;
}
