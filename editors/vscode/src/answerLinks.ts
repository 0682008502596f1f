/**
 * The "Answer files" line under the chat transcript, as HTML. Pure: no `vscode` import.
 *
 * It is built here rather than as markdown because markdown-it (behind VS Code's
 * `markdown.api.render`) refuses `file:` links and printed "[name](file:///...)" verbatim.
 * The chat webview's click handler opens `a[href]` through the extension, which opens file
 * URIs in an editor.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `file:///s/a%20b/answer-1.md` -> `answer-1.md` (decoded); the URI itself when it has no name. */
export function fileLabel(uri: string): string {
  const path = uri.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "").split(/[?#]/)[0];
  const last = path.split("/").filter(Boolean).pop();
  if (!last) {
    return uri;
  }
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** `<hr><p>Answer files: <a href="...">name</a> · ...</p>`, or "" without files. */
export function answerLinksHtml(uris: readonly string[]): string {
  if (uris.length === 0) {
    return "";
  }
  const links = uris.map(
    (u) => `<a href="${escapeHtml(u)}" title="${escapeHtml(u)}">${escapeHtml(fileLabel(u))}</a>`,
  );
  return `<hr><p class="answer-files">Answer files: ${links.join(" · ")}</p>`;
}
