import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

import {
  callerLocations,
  chatArgs,
  chatOutcome,
  COMMANDS,
  contains,
  describeResult,
  diagnosticsAt,
  executeParams,
  explainArgs,
  fixErrorArgs,
  missingCommand,
  resultText,
} from "../src/commands";

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
const editor = {
  uri: "file:///repo/app.py",
  position: { line: 9, character: 4 },
  selection: { start: { line: 9, character: 4 }, end: { line: 9, character: 4 } },
};

describe("command arguments", () => {
  it("chat sends question, uri and position; range only for a real selection", () => {
    assert.deepEqual(chatArgs("  Why?  ", editor), {
      question: "Why?",
      uri: "file:///repo/app.py",
      position: { line: 9, character: 4 },
    });
    const sel = { start: { line: 3, character: 0 }, end: { line: 7, character: 2 } };
    assert.deepEqual(chatArgs("Explain this", { ...editor, selection: sel }).range, sel);
    assert.deepEqual(chatArgs("No editor", undefined), { question: "No editor" });
    assert.deepEqual(chatArgs("", undefined), {});
  });

  it("explain sends uri and position, or nothing without an editor", () => {
    assert.deepEqual(explainArgs(editor), { uri: "file:///repo/app.py", position: { line: 9, character: 4 } });
    assert.deepEqual(explainArgs(undefined), {});
  });

  it("fixError sends the uri and the diagnostic as published", () => {
    const diagnostic = {
      range: { start: { line: 1, character: 0 }, end: { line: 1, character: 5 } },
      message: "F821 undefined name 'x'",
      severity: 1,
      source: "ruff",
      code: "F821",
    };
    assert.deepEqual(fixErrorArgs("file:///repo/a.py", diagnostic), { uri: "file:///repo/a.py", diagnostic });
    assert.deepEqual(fixErrorArgs(undefined, undefined), {});
  });

  it("always sends exactly one object argument", () => {
    assert.deepEqual(executeParams("mira.reindex"), { command: "mira.reindex", arguments: [{}] });
    assert.deepEqual(executeParams("mira.chat", { question: "q" }), {
      command: "mira.chat",
      arguments: [{ question: "q" }],
    });
  });
});

describe("diagnostic choice", () => {
  const d = (l1: number, c1: number, l2: number, c2: number, severity: number, message: string) => ({
    range: { start: { line: l1, character: c1 }, end: { line: l2, character: c2 } },
    severity,
    message,
  });
  const all = [d(2, 0, 2, 10, 2, "warn on 2"), d(5, 4, 5, 8, 1, "error on 5"), d(5, 0, 5, 20, 2, "warn on 5")];

  it("prefers diagnostics under the cursor, errors first", () => {
    assert.deepEqual(
      diagnosticsAt(all, { line: 5, character: 6 }).map((x) => x.message),
      ["error on 5", "warn on 5"],
    );
  });

  it("falls back to the cursor's line, then the whole file", () => {
    assert.deepEqual(diagnosticsAt(all, { line: 2, character: 15 }).map((x) => x.message), ["warn on 2"]);
    assert.deepEqual(diagnosticsAt(all, { line: 40, character: 0 }).map((x) => x.message), [
      "error on 5",
      "warn on 2",
      "warn on 5",
    ]);
  });

  it("range containment is inclusive at both ends", () => {
    const r = { start: { line: 1, character: 2 }, end: { line: 1, character: 5 } };
    assert.equal(contains(r, { line: 1, character: 2 }), true);
    assert.equal(contains(r, { line: 1, character: 5 }), true);
    assert.equal(contains(r, { line: 1, character: 6 }), false);
    assert.equal(contains(r, { line: 0, character: 3 }), false);
  });
});

describe("command table", () => {
  it("package.json contributes exactly the commands the extension registers", () => {
    const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual(contributed, COMMANDS.map((c) => c.id).sort());
    for (const c of pkg.contributes.commands) {
      assert.equal(c.category, "Mira");
      assert.equal(c.title, COMMANDS.find((x) => x.id === c.command)!.title);
    }
  });

  it("covers the server commands of the issues", () => {
    const palette = COMMANDS.filter((c) => c.server).map((c) => c.title);
    assert.deepEqual(palette, [
      "Chat",
      "Explain Symbol",
      "Fix Error",
      "Review Changes",
      "Search",
      "Run Build",
      "Show Budget",
      "Resume Budget",
      "Cache Stats",
      "Clear Cache",
      "Reindex",
      "Open Report",
    ]);
    const server = COMMANDS.filter((c) => c.server).map((c) => c.server);
    assert.deepEqual(server, [
      "mira.chat",
      "mira.explain",
      "mira.fixError",
      "mira.reviewChanges",
      "mira.search",
      "mira.runBuild",
      "mira.budget",
      "mira.resumeBudget",
      "mira.cacheStats",
      "mira.clearCache",
      "mira.reindex",
      "mira.openReport",
    ]);
  });

  it("palette ids never collide with server ids the language client registers", () => {
    for (const c of COMMANDS) {
      assert.ok(!c.id.startsWith("mira."), c.id);
    }
  });

  it("menus only reference contributed commands", () => {
    const ids = new Set(COMMANDS.map((c) => c.id));
    for (const items of Object.values(pkg.contributes.menus) as { command: string }[][]) {
      for (const item of items) {
        assert.ok(ids.has(item.command), item.command);
      }
    }
  });
});

describe("results", () => {
  it("says clearly when the server lacks a command or is not running", () => {
    assert.match(missingCommand(undefined, "mira.chat")!, /not running/);
    assert.match(missingCommand(["mira.reindex"], "mira.chat")!, /does not offer mira\.chat/);
    assert.equal(missingCommand(["mira.chat"], "mira.chat"), undefined);
  });

  it("describes results in one line", () => {
    assert.equal(describeResult(null), "Done.");
    assert.equal(describeResult("Indexed 12 files."), "Indexed 12 files.");
    assert.equal(describeResult({ message: "Cache cleared: 4 entries." }), "Cache cleared: 4 entries.");
    assert.equal(
      describeResult({ entries: 4, hit_rate: 0.75, bytes: 2048, saved_usd: 0.0123 }),
      "entries: 4, hit rate: 0.75, bytes: 2048, saved usd: 0.0123",
    );
    assert.equal(describeResult({ errors: [1, 2], nested: { a: 1, b: { c: 2 } } }), "errors: 2 items, nested: {a: 1, b: …}");
  });

  it("takes a non-streamed chat answer from the result", () => {
    assert.equal(resultText("plain"), "plain");
    assert.equal(resultText({ answer: "A", path: "/x.md" }), "A");
    assert.equal(resultText({ path: "/x.md" }), undefined);
  });
});

describe("callers lens", () => {
  it("keeps only well-formed caller locations", () => {
    const good = {
      uri: "file:///repo/app.py",
      range: { start: { line: 4, character: 11 }, end: { line: 4, character: 17 } },
      name: "run",
    };
    assert.deepEqual(callerLocations([good, { uri: 3 }, { uri: "file:///x", range: { start: {} } }, null]), [good]);
    assert.deepEqual(callerLocations({ not: "a list" }), []);
    assert.deepEqual(callerLocations(undefined), []);
  });
});

describe("chat results", () => {
  it("turns the server's error answer into an error, not an answer", () => {
    assert.deepEqual(chatOutcome({ id: "a1", error: "The daily budget is spent.", kind: "budget" }), {
      error: "The daily budget is spent.",
    });
  });

  it("keeps text, cost line and notes of a successful answer", () => {
    assert.deepEqual(
      chatOutcome({
        id: "a2",
        text: "Because x is None.",
        cost: "$0.0012, cached",
        notes: ["saved to /tmp/a.md", 3],
        uri: "file:///tmp/a.md",
      }),
      { text: "Because x is None.", cost: "$0.0012, cached", notes: ["saved to /tmp/a.md"], operation: "a2" },
    );
    assert.deepEqual(chatOutcome("plain"), { text: "plain" });
    assert.deepEqual(chatOutcome({ uri: "file:///x.md" }), {
      text: "uri: file:///x.md",
      cost: undefined,
      notes: undefined,
      operation: undefined,
    });
  });
});
