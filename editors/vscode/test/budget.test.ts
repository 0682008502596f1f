import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { describe as describeBudget, isBudget, level, resetsIn, statusText, usd } from "../src/budget";

const NOW = 1_760_000_000;
const budget = {
  day: { spent_usd: 1.234, limit_usd: 5, reset_at: NOW + 3 * 3600 + 20 * 60 },
  month: { spent_usd: 40, limit_usd: 150, reset_at: NOW + 10 * 86400 + 2 * 3600 },
  cache: { hits: 12, misses: 4, hit_rate: 0.75, saved_usd: 0.4 },
};

describe("budget display", () => {
  it("shows today's spend against the daily limit", () => {
    assert.equal(statusText(budget), "$(pulse) Mira $1.23 / $5.00");
  });

  it("recognises the mira.budget result and rejects other shapes", () => {
    assert.equal(isBudget(budget), true);
    assert.equal(isBudget({ day: { spent_usd: 0, limit_usd: 5 } }), true);
    assert.equal(isBudget({ day: { spent: 0 } }), false);
    assert.equal(isBudget({ day: { spent_usd: 0, limit_usd: 5 }, month: "x" }), false);
    assert.equal(isBudget(undefined), false);
  });

  it("keeps sub-cent amounts visible", () => {
    assert.equal(usd(0), "$0.00");
    assert.equal(usd(0.0042), "$0.0042");
    assert.equal(usd(12.5), "$12.50");
  });

  it("warns from 80% and errors at the limit of either window", () => {
    assert.equal(level(budget), "ok");
    assert.equal(level({ day: { spent_usd: 4, limit_usd: 5 } }), "warning");
    assert.equal(level({ day: { spent_usd: 5, limit_usd: 5 } }), "error");
    assert.equal(level({ day: { spent_usd: 0, limit_usd: 5 }, month: { spent_usd: 150, limit_usd: 150 } }), "error");
    assert.equal(level({ day: { spent_usd: 0, limit_usd: 0 } }), "error");
    assert.equal(statusText({ day: { spent_usd: 4.5, limit_usd: 5 } }), "$(warning) Mira $4.50 / $5.00");
  });

  it("describes both windows and the cache", () => {
    assert.deepEqual(describeBudget(budget, NOW), [
      "Today: $1.23 of $5.00, resets in 3 h 20 min",
      "This month: $40.00 of $150.00, resets in 10 d 2 h",
      "Cache: 12 hits, 4 misses (75% hits), saved $0.40",
    ]);
    assert.deepEqual(describeBudget({ day: { spent_usd: 0, limit_usd: 5 } }, NOW), ["Today: $0.00 of $5.00"]);
  });

  it("counts down to the reset", () => {
    assert.equal(resetsIn(NOW + 59, NOW), "in 0 min");
    assert.equal(resetsIn(NOW - 10, NOW), "in 0 min");
    assert.equal(resetsIn(NOW + 3600, NOW), "in 1 h 0 min");
  });
});
