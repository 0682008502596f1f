import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ChatTranscript } from "../src/chunks";
import { chatOutcome } from "../src/commands";
import { feedbackHtml, parseFeedbackMessage } from "../src/feedback";

describe("thumbs in the chat view", () => {
  it("a finished answer with an operation id gets thumbs; an error or a pending one does not", () => {
    const t = new ChatTranscript();
    const ok = t.begin("Chat: why?");
    t.onChunk({ id: "a1b2c3d4e5f6", seq: 1, text: "Because.", done: true });
    const failed = t.begin("Chat: again");
    const pending = t.begin("Chat: later");
    t.finish(ok, chatOutcome({ id: "a1b2c3d4e5f6", text: "Because.", cost: "cost $0.01", notes: [] }));
    t.finish(failed, chatOutcome({ id: "ffffffffffff", error: "budget", kind: "budget" }));
    const [p, f, o] = t.blocks();
    assert.equal(p.operation, undefined);
    assert.equal(f.operation, undefined);
    assert.equal(o.operation, "a1b2c3d4e5f6");
    assert.deepEqual(o.feedback, { kind: "none" });
    assert.ok(o.markdown.includes("Because.") && o.markdown.includes("cost $0.01"));
    // the transcript's markdown is the blocks joined, as before
    assert.equal(t.render(), t.blocks().map((b) => b.markdown).join("\n---\n\n"));
    void pending;
  });

  it("renders two buttons naming the operation and the choice, then the state", () => {
    const none = feedbackHtml("a1b2c3d4e5f6", { kind: "none" });
    assert.ok(none.includes('data-operation="a1b2c3d4e5f6" data-helpful="true" aria-pressed="false"'));
    assert.ok(none.includes('data-helpful="false" aria-pressed="false"'));
    assert.ok(none.includes("👍 Helpful") && none.includes("👎 Not helpful"));
    const sending = feedbackHtml("a1b2c3d4e5f6", { kind: "sending", helpful: false });
    assert.ok(sending.includes(" disabled") && sending.includes("Sending…"));
    const sent = feedbackHtml("a1b2c3d4e5f6", { kind: "sent", helpful: true });
    assert.ok(sent.includes('data-helpful="true" aria-pressed="true"'));
    assert.ok(sent.includes("Thanks: marked helpful."));
    const failed = feedbackHtml("a1b2c3d4e5f6", { kind: "failed", helpful: true, error: "<no db>" });
    assert.ok(failed.includes("Not recorded: &#60;no db&#62;") && !failed.includes("<no db>"));
  });

  it("draws nothing for an answer without a usable id", () => {
    assert.equal(feedbackHtml(undefined, { kind: "none" }), "");
    assert.equal(feedbackHtml('x" onclick="evil()', { kind: "none" }), "");
  });

  it("accepts only {feedback: {operation, helpful}} from the webview", () => {
    assert.deepEqual(parseFeedbackMessage({ feedback: { operation: "a1b2c3", helpful: false } }), {
      operation: "a1b2c3",
      helpful: false,
    });
    assert.equal(parseFeedbackMessage({ feedback: { operation: "a1b2c3", helpful: "yes" } }), undefined);
    assert.equal(parseFeedbackMessage({ feedback: { operation: "../x", helpful: true } }), undefined);
    assert.equal(parseFeedbackMessage({ open: "file:///x" }), undefined);
    assert.equal(parseFeedbackMessage(null), undefined);
  });

  it("keeps the state per answer", () => {
    const t = new ChatTranscript();
    const ex = t.begin("Explain");
    t.finish(ex, { text: "It adds.", operation: "op1" });
    assert.equal(t.setFeedback("op1", { kind: "sent", helpful: false }), true);
    assert.equal(t.setFeedback("nosuch", { kind: "sent", helpful: true }), false);
    assert.deepEqual(t.blocks()[0].feedback, { kind: "sent", helpful: false });
  });
});
