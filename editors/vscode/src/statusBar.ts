/**
 * The status bar items: today's spend / daily limit, refreshed from `mira.budget`, and the
 * current task, from `mira.task.list`.
 */

import * as vscode from "vscode";

import { type Budget, describe, isBudget, level, statusText } from "./budget";
import { type TaskInfo, taskItemState } from "./task";

export class BudgetStatus implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private enabled = true;

  constructor(private readonly fetch: () => Promise<unknown>) {
    this.item = vscode.window.createStatusBarItem("mira.budget", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "Mira Budget";
    this.item.command = "mira-ls.showBudget";
  }

  /** Applies `mira.ui.statusBar` and `mira.ui.budgetPollSeconds` (0: only after answers). */
  configure(enabled: boolean, pollSeconds: number): void {
    this.enabled = enabled;
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (!enabled) {
      this.item.hide();
      return;
    }
    if (pollSeconds > 0) {
      this.timer = setInterval(() => void this.refresh(), pollSeconds * 1000);
    }
    void this.refresh();
  }

  /** Refresh shortly, coalescing bursts (each finished answer asks for one). */
  refreshSoon(): void {
    if (this.soon) {
      return;
    }
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.refresh();
    }, 1000);
  }

  async refresh(): Promise<void> {
    if (!this.enabled) {
      return;
    }
    let result: unknown;
    try {
      result = await this.fetch();
    } catch (err) {
      this.unavailable(err instanceof Error ? err.message : String(err));
      return;
    }
    if (isBudget(result)) {
      this.show(result);
    } else if (result !== undefined) {
      this.unavailable("The server's budget answer was not in the expected form.");
    }
  }

  show(b: Budget): void {
    if (!this.enabled) {
      return;
    }
    this.item.text = statusText(b);
    const tip = new vscode.MarkdownString(describe(b, Date.now() / 1000).join("  \n"));
    tip.appendMarkdown("\n\n_Click for details._");
    this.item.tooltip = tip;
    const lvl = level(b);
    this.item.backgroundColor =
      lvl === "error"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : lvl === "warning"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
    this.item.show();
  }

  unavailable(reason: string): void {
    if (!this.enabled) {
      return;
    }
    this.item.text = "$(circle-slash) Mira";
    this.item.tooltip = `Mira budget unavailable: ${reason}`;
    this.item.backgroundColor = undefined;
    this.item.show();
  }

  dispose(): void {
    if (this.timer) {
      clearInterval(this.timer);
    }
    if (this.soon) {
      clearTimeout(this.soon);
    }
    this.item.dispose();
  }
}

/** The current task's title; a click opens the task quick pick (`mira-ls.currentTask`). */
export class TaskStatus implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private enabled = true;
  private polling = true;
  /** The task shown now, if any. */
  task: TaskInfo | undefined;

  constructor(private readonly fetch: () => Promise<unknown>) {
    this.item = vscode.window.createStatusBarItem("mira.task", vscode.StatusBarAlignment.Right, 99);
    this.item.name = "Mira Task";
    this.item.command = "mira-ls.currentTask";
  }

  /** Applies `mira.ui.statusBar` and `mira.ui.budgetPollSeconds` (0: only after task commands). */
  configure(enabled: boolean, pollSeconds: number): void {
    this.enabled = enabled;
    this.polling = true;
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (!enabled) {
      this.hide();
      return;
    }
    if (pollSeconds > 0) {
      this.timer = setInterval(() => {
        if (this.polling) {
          void this.refresh();
        }
      }, pollSeconds * 1000);
    }
    void this.refresh();
  }

  /** Refresh shortly, coalescing bursts (after each task command). */
  refreshSoon(): void {
    this.polling = true;
    if (this.soon) {
      return;
    }
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.refresh();
    }, 300);
  }

  async refresh(): Promise<TaskInfo | undefined> {
    if (!this.enabled) {
      return undefined;
    }
    let result: unknown;
    try {
      result = await this.fetch();
    } catch {
      this.hide(); // the budget item says when the server is unavailable
      return undefined;
    }
    const state = taskItemState(result);
    if (!state.show) {
      this.polling = !state.stopPolling;
      this.hide();
      return undefined;
    }
    this.task = state.task;
    this.item.text = state.text;
    this.item.tooltip = state.tooltip.join("\n");
    this.item.show();
    return state.task;
  }

  private hide(): void {
    this.task = undefined;
    this.item.hide();
  }

  dispose(): void {
    if (this.timer) {
      clearInterval(this.timer);
    }
    if (this.soon) {
      clearTimeout(this.soon);
    }
    this.item.dispose();
  }
}
