import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { CHAT_DOCUMENT_WINDOW_MS, keepInChatView } from "../src/showDocument";

const answer = { uri: "file:///home/u/.local/state/mira-ls/answers/2025-01-01-chat-1.md" };

describe("answer files", () => {
  it("keeps a chat's answer file in the chat view while the chat runs or just after", () => {
    assert.equal(keepInChatView(answer, { openAnswerFiles: false, chatsPending: 1 }), true);
    assert.equal(keepInChatView(answer, { openAnswerFiles: false, chatsPending: 0, msSinceLastChat: 200 }), true);
  });

  it("opens it when the user asked for answer files, or when no chat is involved", () => {
    assert.equal(keepInChatView(answer, { openAnswerFiles: true, chatsPending: 1 }), false);
    assert.equal(keepInChatView(answer, { openAnswerFiles: false, chatsPending: 0 }), false);
    assert.equal(
      keepInChatView(answer, { openAnswerFiles: false, chatsPending: 0, msSinceLastChat: CHAT_DOCUMENT_WINDOW_MS + 1 }),
      false,
    );
  });

  it("always opens reports, external links and non-markdown documents", () => {
    assert.equal(keepInChatView(answer, { openAnswerFiles: false, chatsPending: 1, openRequested: true }), false);
    assert.equal(keepInChatView({ ...answer, external: true }, { openAnswerFiles: false, chatsPending: 1 }), false);
    assert.equal(keepInChatView({ uri: "file:///repo/app.py" }, { openAnswerFiles: false, chatsPending: 1 }), false);
    assert.equal(keepInChatView({ uri: "https://example.com/a.md" }, { openAnswerFiles: false, chatsPending: 1 }), false);
  });
});
