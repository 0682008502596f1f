// Drives a running code-server from headless Chromium (playwright-core) like a user:
// opens a file, hovers a function until mira-ls's git sections show, asks "Mira: Chat" a
// question, reads the answer in the Mira Chat panel and the budget in the status bar.
// Started by tests/lsp/test_vscode_e2e.py, which checks the JSON written to MIRA_E2E_OUT.
// Every step that fails records a sentence and a screenshot; the run never throws.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const cfg = JSON.parse(process.env.MIRA_E2E_CONFIG);
// cfg: {url, chromium, file, symbol, wantHover: [..], question, wantAnswer, wantStatus,
//       shots, out, hoverTimeoutMs, answerTimeoutMs}
const out = { errors: [], screenshots: [], steps: [] };
let shot = 0;

function write() {
  fs.writeFileSync(cfg.out, JSON.stringify(out, null, 2));
}

async function screenshot(page, name) {
  if (!page) {
    return;
  }
  shot += 1;
  const file = path.join(cfg.shots, `${String(shot).padStart(2, "0")}-${name}.png`);
  try {
    await page.screenshot({ path: file });
    out.screenshots.push(file);
  } catch (err) {
    out.errors.push(`screenshot ${name} failed: ${err.message}`);
  }
}

/** Runs one step; a failure is recorded with a screenshot and the run goes on if it can. */
async function step(page, name, fn) {
  const started = Date.now();
  try {
    const value = await fn();
    out.steps.push({ name, ok: true, ms: Date.now() - started });
    return value;
  } catch (err) {
    out.steps.push({ name, ok: false, ms: Date.now() - started });
    out.errors.push(`${name}: ${err && err.message ? err.message.split("\n")[0] : String(err)}`);
    await screenshot(page, `failed-${name}`);
    return undefined;
  }
}

async function until(fn, timeoutMs, what, intervalMs = 500) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) {
      return last;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} within ${Math.round(timeoutMs / 1000)} s`);
}

async function runCommand(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: 10000 });
  await input.fill(`>${title}`);
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: 10000 });
  await page.keyboard.press("Enter");
}

async function statusTexts(page) {
  return page.locator(".statusbar-item").allInnerTexts();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    // As root in CI: no sandbox; nothing reaches the network but 127.0.0.1.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => out.steps.push({ name: `page error: ${err.message.slice(0, 200)}`, ok: true }));
  try {
    const opened = await step(page, "open-workbench", async () => {
      await page.goto(cfg.url, { waitUntil: "domcontentloaded", timeout: 60000 });
      await page.locator(".monaco-workbench").waitFor({ timeout: 60000 });
      // The explorer shows the folder once the remote extension host is connected.
      await page.locator(".explorer-folders-view, .explorer-viewlet").first().waitFor({ timeout: 60000 });
      return true;
    });
    if (!opened) {
      return;
    }

    await step(page, "open-file", async () => {
      await until(
        async () => {
          await page.keyboard.press("Control+P");
          const input = page.locator(".quick-input-widget input");
          await input.waitFor({ state: "visible", timeout: 10000 });
          await input.fill(cfg.file);
          const row = page.locator(".quick-input-list .monaco-list-row", { hasText: path.basename(cfg.file) });
          try {
            await row.first().waitFor({ state: "visible", timeout: 5000 });
          } catch {
            await page.keyboard.press("Escape");
            return false; // the file search is not ready yet
          }
          await page.keyboard.press("Enter");
          return true;
        },
        60000,
        `quick open did not find ${cfg.file}`,
      );
      await page.locator(".monaco-editor .view-line", { hasText: `def ${cfg.symbol}` }).first().waitFor({ timeout: 30000 });
    });

    out.statusBefore = await step(page, "status-bar-budget", async () =>
      until(
        async () => (await statusTexts(page)).map((t) => t.trim()).find((t) => t.includes("Mira $")),
        90000,
        "no Mira budget in the status bar",
      ),
    );

    out.hover = await step(page, "hover", async () => {
      const line = page.locator(".monaco-editor .view-line", { hasText: `def ${cfg.symbol}` }).first();
      const name = line.locator("span > span", { hasText: new RegExp(`^${cfg.symbol}$`) }).first();
      const hover = page.locator(".monaco-hover:not(.hidden)");
      let text = "";
      await until(
        async () => {
          await page.mouse.move(5, 5);
          await page.waitForTimeout(300);
          await name.hover();
          try {
            await hover.first().waitFor({ state: "visible", timeout: 5000 });
            text = await hover.first().innerText();
          } catch {
            text = "";
          }
          return cfg.wantHover.every((w) => text.includes(w));
        },
        cfg.hoverTimeoutMs,
        `the hover never showed ${JSON.stringify(cfg.wantHover)} (last: ${JSON.stringify(text.slice(0, 300))})`,
        1000,
      );
      await screenshot(page, "hover");
      await page.mouse.move(5, 5);
      return text;
    });
    if (out.hover === undefined) {
      // Keep what the hover did show for the test's message.
      try {
        out.hoverSeen = await page.locator(".monaco-hover").first().innerText({ timeout: 1000 });
      } catch {
        out.hoverSeen = null;
      }
    }

    out.chat = await step(page, "chat", async () => {
      await page.keyboard.press("Escape");
      await runCommand(page, "Mira: Chat");
      const input = page.locator(".quick-input-widget input");
      await page.locator(".quick-input-widget", { hasText: "Ask Mira" }).waitFor({ state: "visible", timeout: 10000 });
      await input.fill(cfg.question);
      await page.keyboard.press("Enter");
      // The Mira Chat panel is a webview: its content is in nested frames.
      let seen = "";
      const text = await until(
        async () => {
          for (const frame of page.frames()) {
            try {
              const root = frame.locator("#root");
              if ((await root.count()) === 0) {
                continue;
              }
              seen = await root.innerText({ timeout: 1000 });
              if (seen.includes(cfg.wantAnswer)) {
                out.chatLinks = await frame.locator("a[href]").evaluateAll((as) =>
                  as.map((a) => ({ href: a.getAttribute("href"), text: a.textContent })),
                );
                // The streamed text shows before the answer file is linked (showDocument
                // comes at the end): wait for the link and the thumbs under the answer.
                const linked = out.chatLinks.some((l) => (l.href || "").startsWith("file:"));
                const thumbs = (await frame.locator("button[data-operation]").count()) > 0;
                if (linked && thumbs) {
                  return seen;
                }
              }
            } catch {
              // frames come and go while the webview loads
            }
          }
          return false;
        },
        cfg.answerTimeoutMs,
        `the Mira Chat panel never showed the answer (last: ${JSON.stringify(seen.slice(0, 300))})`,
      );
      await screenshot(page, "chat");
      return text;
    });

    // The thumbs under the answer send mira.feedback; the panel says it was recorded.
    out.feedback = await step(page, "feedback", async () => {
      let clicked = false;
      for (const frame of page.frames()) {
        const thumb = frame.locator('button[data-helpful="true"]');
        if ((await thumb.count().catch(() => 0)) > 0) {
          await thumb.first().click();
          clicked = true;
          break;
        }
      }
      if (!clicked) {
        throw new Error("the chat panel has no thumbs under the answer");
      }
      return until(
        async () => {
          for (const frame of page.frames()) {
            const status = frame.locator(".feedback-status");
            if ((await status.count().catch(() => 0)) > 0) {
              const text = await status.first().innerText({ timeout: 1000 }).catch(() => "");
              if (text.startsWith("Thanks")) {
                return text;
              }
            }
          }
          return false;
        },
        15000,
        "the chat panel never said the feedback was recorded",
      );
    });

    // The answer file's link under the transcript opens the file in an editor tab.
    out.openedAnswerTab = await step(page, "open-answer-link", async () => {
      const link = (out.chatLinks || []).find((l) => (l.href || "").startsWith("file:"));
      if (!link) {
        throw new Error("the chat panel has no file: link to click");
      }
      for (const frame of page.frames()) {
        const a = frame.locator(`a[href="${link.href}"]`);
        if ((await a.count().catch(() => 0)) > 0) {
          await a.first().click();
          break;
        }
      }
      const tab = page.locator(".tabs-container .tab", { hasText: link.text.trim() });
      await tab.first().waitFor({ state: "visible", timeout: 15000 });
      return (await tab.first().innerText()).trim();
    });

    // The answer cost something: the status bar refreshes after it.
    out.statusAfter = await step(page, "status-bar-after-chat", async () =>
      until(
        async () =>
          (await statusTexts(page))
            .map((t) => t.trim())
            .find((t) => t.includes("Mira $") && t !== out.statusBefore),
        20000,
        `the Mira budget in the status bar did not change after the answer (${out.statusBefore})`,
      ),
    );
    out.statusTooltipCommand = await page
      .locator(".statusbar-item", { hasText: "Mira $" })
      .first()
      .locator("a, [role=button]")
      .first()
      .getAttribute("aria-label")
      .catch(() => null);
    await screenshot(page, "end");
  } finally {
    await browser.close();
  }
}

main()
  .catch((err) => {
    out.errors.push(`driver: ${err && err.stack ? err.stack : String(err)}`);
  })
  .finally(() => {
    write();
  });
