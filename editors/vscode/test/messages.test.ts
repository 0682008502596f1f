import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MessageGate, MessageType } from "../src/messages";

describe("server messages", () => {
  it("keeps informational messages out of notifications during a quiet request", async () => {
    const gate = new MessageGate();
    const routed = await gate.whileQuiet(async () => [
      gate.route(MessageType.Info),
      gate.route(MessageType.Log),
      gate.route(MessageType.Warning),
      gate.route(MessageType.Error),
    ]);
    assert.deepEqual(routed, ["log", "log", "notify", "notify"]);
    assert.equal(gate.route(MessageType.Info), "notify");
  });

  it("stays quiet until every overlapping quiet request ended, even a failed one", async () => {
    const gate = new MessageGate();
    let release!: () => void;
    const slow = gate.whileQuiet(() => new Promise<void>((r) => (release = r)));
    await assert.rejects(gate.whileQuiet(async () => Promise.reject(new Error("boom"))));
    assert.equal(gate.route(MessageType.Info), "log");
    release();
    await slow;
    assert.equal(gate.route(MessageType.Info), "notify");
  });

  it("counts informational messages so a command can tell the server already spoke", () => {
    const gate = new MessageGate();
    const before = gate.infoCount;
    gate.route(MessageType.Warning);
    assert.equal(gate.infoCount, before);
    gate.route(MessageType.Info);
    assert.equal(gate.infoCount, before + 1);
  });
});
