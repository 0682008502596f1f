import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { formatScore, searchArgs, searchItems, searchNotes } from "../src/search";

// A mira.search answer as the server sends it (tests/lsp/test_search_command.py checks the
// server's side of this shape).
const answer = {
  query: "parse http header",
  results: [
    {
      path: "net/http.py",
      line: 4,
      col: 5,
      symbol: "net.http.parseHTTPHeader",
      kind: "function",
      score: 0.0327868852,
      via: "both",
      collection: "code",
      signature: "def parseHTTPHeader(raw)",
      uri: "file:///repo/net/http.py",
      range: { start: { line: 3, character: 4 }, end: { line: 3, character: 19 } },
    },
    {
      path: "net/http.py",
      line: 8,
      col: 5,
      symbol: "net.http.parse_http_header",
      kind: "function",
      score: 0.016129,
      via: "keyword",
      collection: "code",
      uri: "file:///repo/net/http.py",
      range: { start: { line: 7, character: 4 }, end: { line: 7, character: 21 } },
    },
    // A commit has no location of its own: not offered in the pick.
    { path: null, line: null, symbol: "Add the header parser", kind: "commit", score: 0.01, via: "keyword", collection: "git", commit: "abc" },
    // Malformed entries are dropped, not shown as "undefined".
    { symbol: 42, uri: "file:///x" },
    null,
  ],
  notes: ["Semantic search is off: run mira-ls embed PATH.", 7],
};

describe("Mira: Search", () => {
  it("sends the trimmed query with open: false (the quick pick shows the results)", () => {
    assert.deepEqual(searchArgs("  retry uploads "), { query: "retry uploads", open: false });
    assert.deepEqual(searchArgs("x", "all", 50), { query: "x", kind: "all", limit: 50, open: false });
    assert.equal(searchArgs("   "), undefined);
    assert.equal(searchArgs(undefined), undefined);
  });

  it("makes one item per location, best first: symbol, path:line, why and score", () => {
    const items = searchItems(answer);
    assert.deepEqual(
      items.map((i) => [i.label, i.description, i.detail]),
      [
        ["net.http.parseHTTPHeader", "net/http.py:4", "function · both · score 0.03279"],
        ["net.http.parse_http_header", "net/http.py:8", "function · keyword · score 0.01613"],
      ],
    );
    assert.deepEqual(items[0].range, { start: { line: 3, character: 4 }, end: { line: 3, character: 19 } });
    assert.equal(items[1].uri, "file:///repo/net/http.py");
  });

  it("keeps a result without a range (opens at the top of the file)", () => {
    const items = searchItems({ results: [{ symbol: "m", uri: "file:///repo/m.py", path: "m.py", via: "vector", score: 0.5 }] });
    assert.deepEqual(items, [
      { label: "m", description: "m.py", detail: "vector · score 0.5000", uri: "file:///repo/m.py", range: undefined },
    ]);
  });

  it("reads the notes and survives answers of another shape", () => {
    assert.deepEqual(searchNotes(answer), ["Semantic search is off: run mira-ls embed PATH."]);
    for (const odd of [undefined, null, "text", { results: "no" }, {}]) {
      assert.deepEqual(searchItems(odd), []);
      assert.deepEqual(searchNotes(odd), []);
    }
    assert.equal(formatScore(Number.NaN), "?");
    assert.equal(formatScore("1"), "?");
  });
});
