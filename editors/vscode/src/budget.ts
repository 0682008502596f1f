/**
 * The `mira.budget` result ({day, month, cache}) as status bar text and tooltip.
 * Pure: no `vscode` import.
 */

export interface BudgetWindow {
  spent_usd: number;
  limit_usd: number;
  reset_at?: number;
}

export interface CacheStats {
  hits?: number;
  misses?: number;
  hit_rate?: number;
  saved_usd?: number;
}

export interface Budget {
  day: BudgetWindow;
  month?: BudgetWindow;
  cache?: CacheStats;
}

function isWindow(value: unknown): value is BudgetWindow {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return typeof v.spent_usd === "number" && typeof v.limit_usd === "number";
}

export function isBudget(value: unknown): value is Budget {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return isWindow(v.day) && (v.month === undefined || isWindow(v.month));
}

/** Dollars with cents; sub-cent amounts keep enough digits not to read as zero. */
export function usd(amount: number): string {
  if (amount > 0 && amount < 0.01) {
    return `$${amount.toFixed(4)}`;
  }
  return `$${amount.toFixed(2)}`;
}

export type Level = "ok" | "warning" | "error";

/** Warning from 80% of a limit, error when a limit is reached. */
export function level(b: Budget): Level {
  const ratios = [b.day, b.month]
    .filter((w): w is BudgetWindow => w !== undefined && w.limit_usd > 0)
    .map((w) => w.spent_usd / w.limit_usd);
  const noBudget = [b.day, b.month].some((w) => w !== undefined && w.limit_usd <= 0);
  const worst = Math.max(0, ...ratios);
  if (worst >= 1 || noBudget) {
    return "error";
  }
  return worst >= 0.8 ? "warning" : "ok";
}

/** Status bar text: today's spend against the daily limit. */
export function statusText(b: Budget): string {
  const icon = level(b) === "ok" ? "$(pulse)" : "$(warning)";
  return `${icon} Mira ${usd(b.day.spent_usd)} / ${usd(b.day.limit_usd)}`;
}

/** "in 3 h 20 min" from now until `at` (unix seconds). */
export function resetsIn(at: number, nowSeconds: number): string {
  const left = Math.max(0, Math.round(at - nowSeconds));
  const days = Math.floor(left / 86400);
  const hours = Math.floor((left % 86400) / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  if (days > 0) {
    return `in ${days} d ${hours} h`;
  }
  if (hours > 0) {
    return `in ${hours} h ${minutes} min`;
  }
  return `in ${minutes} min`;
}

function windowLine(name: string, w: BudgetWindow, nowSeconds: number): string {
  const reset = w.reset_at ? `, resets ${resetsIn(w.reset_at, nowSeconds)}` : "";
  return `${name}: ${usd(w.spent_usd)} of ${usd(w.limit_usd)}${reset}`;
}

/** Tooltip / notification text, one fact per line. */
export function describe(b: Budget, nowSeconds: number): string[] {
  const lines = [windowLine("Today", b.day, nowSeconds)];
  if (b.month) {
    lines.push(windowLine("This month", b.month, nowSeconds));
  }
  const c = b.cache;
  if (c && (c.hits !== undefined || c.misses !== undefined)) {
    const rate = c.hit_rate !== undefined ? ` (${Math.round(c.hit_rate * 100)}% hits)` : "";
    const saved = c.saved_usd !== undefined ? `, saved ${usd(c.saved_usd)}` : "";
    lines.push(`Cache: ${c.hits ?? 0} hits, ${c.misses ?? 0} misses${rate}${saved}`);
  }
  return lines;
}
