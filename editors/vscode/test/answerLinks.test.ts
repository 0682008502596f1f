import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { answerLinksHtml, escapeHtml, fileLabel } from "../src/answerLinks";

describe("answer file links", () => {
  it("renders real links, not markdown source", () => {
    const html = answerLinksHtml([
      "file:///home/u/.local/state/mira-ls/answers/2026-12-03/chat-1.md",
      "file:///tmp/answers/fix%20it.md",
    ]);
    assert.equal(
      html,
      '<hr><p class="answer-files">Answer files: ' +
        '<a href="file:///home/u/.local/state/mira-ls/answers/2026-12-03/chat-1.md" ' +
        'title="file:///home/u/.local/state/mira-ls/answers/2026-12-03/chat-1.md">chat-1.md</a> · ' +
        '<a href="file:///tmp/answers/fix%20it.md" title="file:///tmp/answers/fix%20it.md">fix it.md</a></p>',
    );
    assert.ok(!html.includes("]("));
  });

  it("is empty without files", () => {
    assert.equal(answerLinksHtml([]), "");
  });

  it("escapes what could break out of the attribute or the text", () => {
    const html = answerLinksHtml(['file:///tmp/a"><script>x</script>.md']);
    assert.ok(!html.includes("<script>"), html);
    assert.ok(html.includes("&#34;&#62;&#60;script&#62;"), html);
    assert.equal(escapeHtml(`<&>"'`), "&#60;&#38;&#62;&#34;&#39;");
  });

  it("labels a link by its decoded file name", () => {
    assert.equal(fileLabel("file:///a/b/c.md"), "c.md");
    assert.equal(fileLabel("file:///a/b/%C3%A9t%C3%A9.md"), "été.md");
    assert.equal(fileLabel("file:///a/b/bad%E0.md"), "bad%E0.md");
    assert.equal(fileLabel("file:///"), "file:///");
  });
});
