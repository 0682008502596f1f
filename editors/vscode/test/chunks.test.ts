import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ChatTranscript, ChunkAssembler, isChatChunk } from "../src/chunks";

describe("chunk assembly", () => {
  it("joins chunks in seq order whatever order they arrive in", () => {
    const a = new ChunkAssembler();
    a.add({ id: "c1", seq: 2, text: "world", done: false });
    a.add({ id: "c1", seq: 0, text: "Hello", done: false });
    assert.equal(a.text("c1"), "Helloworld");
    assert.deepEqual(a.missing("c1"), [1]);
    a.add({ id: "c1", seq: 1, text: ", ", done: false });
    assert.equal(a.text("c1"), "Hello, world");
    assert.deepEqual(a.missing("c1"), []);
  });

  it("ignores duplicates", () => {
    const a = new ChunkAssembler();
    assert.equal(a.add({ id: 1, seq: 0, text: "a", done: false }), true);
    assert.equal(a.add({ id: 1, seq: 0, text: "a", done: false }), false);
    assert.equal(a.text(1), "a");
  });

  it("is done only when the final chunk arrived and nothing before it is missing", () => {
    const a = new ChunkAssembler();
    a.add({ id: "x", seq: 0, text: "a", done: false });
    a.add({ id: "x", seq: 2, text: "", done: true });
    assert.equal(a.isDone("x"), false);
    a.add({ id: "x", seq: 1, text: "b", done: false });
    assert.equal(a.isDone("x"), true);
    assert.equal(a.text("x"), "ab");
  });

  it("works with seq starting at 1 and a done flag on a text chunk", () => {
    const a = new ChunkAssembler();
    a.add({ id: 7, seq: 1, text: "x", done: false });
    a.add({ id: 7, seq: 2, text: "y", done: true });
    assert.equal(a.isDone(7), true);
    assert.equal(a.text("7"), "xy");
  });

  it("keeps answers with different ids apart", () => {
    const a = new ChunkAssembler();
    a.add({ id: "a", seq: 0, text: "one", done: true });
    a.add({ id: "b", seq: 0, text: "two", done: false });
    assert.equal(a.text("a"), "one");
    assert.equal(a.text("b"), "two");
    assert.equal(a.isDone("a"), true);
    assert.equal(a.isDone("b"), false);
    assert.equal(a.text("c"), "");
  });

  it("validates notification params", () => {
    assert.equal(isChatChunk({ id: "a", seq: 0, text: "", done: false }), true);
    assert.equal(isChatChunk({ id: 3, seq: 1, text: "t", done: true }), true);
    assert.equal(isChatChunk({ id: "a", seq: "0", text: "", done: false }), false);
    assert.equal(isChatChunk({ id: "a", seq: 0, done: false }), false);
    assert.equal(isChatChunk(null), false);
    assert.equal(isChatChunk("text"), false);
  });
});

describe("chat transcript", () => {
  it("binds the first unknown chunk id to the oldest waiting question", () => {
    const t = new ChatTranscript();
    const q1 = t.begin("First question");
    const q2 = t.begin("Second question");
    t.onChunk({ id: "s1", seq: 0, text: "Answer one", done: true });
    t.onChunk({ id: "s2", seq: 0, text: "Answer two", done: false });
    assert.equal(q1.chunkId, "s1");
    assert.equal(q2.chunkId, "s2");
    assert.equal(t.answerText(q1), "Answer one");
    assert.equal(t.streaming(q1), false);
    assert.equal(t.streaming(q2), true);
  });

  it("renders markdown newest first with a streaming marker", () => {
    const t = new ChatTranscript();
    t.begin("What does `parse` do?");
    t.onChunk({ id: 1, seq: 0, text: "It **parses**.", done: true });
    t.begin("And `load`?");
    t.onChunk({ id: 2, seq: 0, text: "It loads", done: false });
    const md = t.render();
    assert.ok(md.indexOf("### And `load`?") < md.indexOf("### What does `parse` do?"));
    assert.match(md, /It loads\n\n_… still answering_/);
    assert.match(md, /It \*\*parses\*\*\./);
    assert.equal(md.split("\n---\n").length, 2);
  });

  it("shows a result that came without streaming, and errors", () => {
    const t = new ChatTranscript();
    const cached = t.begin("Cached question");
    t.finish(cached, { text: "From the cache." });
    const refused = t.begin("Expensive question");
    t.finish(refused, { error: "The daily budget of $5.00 is spent; it resets at 00:00 UTC." });
    assert.equal(t.answerText(cached), "From the cache.");
    assert.equal(t.streaming(cached), false);
    const md = t.render();
    assert.match(md, /From the cache\./);
    assert.match(md, /> \*\*Error:\*\* The daily budget/);
    assert.doesNotMatch(md, /Waiting/);
  });

  it("does not let a final result text duplicate a streamed answer", () => {
    const t = new ChatTranscript();
    const ex = t.begin("q");
    t.onChunk({ id: "z", seq: 0, text: "streamed", done: true });
    t.finish(ex, { text: "streamed" });
    assert.equal(t.answerText(ex), "streamed");
    assert.equal(t.render().match(/streamed/g)?.length, 1);
  });

  it("keeps chunks nobody asked for (e.g. a code action's answer)", () => {
    const t = new ChatTranscript();
    const ex = t.onChunk({ id: "orphan", seq: 0, text: "hi", done: true });
    assert.equal(ex.label, "Answer");
    assert.equal(t.size, 1);
    assert.match(t.render(), /### Answer\n\nhi/);
  });

  it("says what to do when empty", () => {
    assert.match(new ChatTranscript().render(), /Mira: Chat/);
  });
});

describe("answer details", () => {
  it("shows the cost line and notes under the answer", () => {
    const t = new ChatTranscript();
    const ex = t.begin("Fix it");
    t.onChunk({ id: "f", seq: 1, text: "Use `int(x)`.", done: false });
    t.onChunk({ id: "f", seq: 2, text: "", done: true });
    t.finish(ex, {
      text: "Use `int(x)`.",
      cost: "$0.0031 (1,200 in / 180 out tokens)",
      notes: ["the fix applies to the current file: apply it with mira.applyFix"],
    });
    const md = t.render();
    assert.match(md, /Use `int\(x\)`\.\n\n> the fix applies/);
    assert.match(md, /\n_\$0\.0031 \(1,200 in \/ 180 out tokens\)_\n/);
    assert.equal(md.match(/Use `int/g)?.length, 1);
  });
});
