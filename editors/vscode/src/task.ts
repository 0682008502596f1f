/**
 * The current task (the one `doing`, from `mira.task.list`) as status bar text and tooltip,
 * the actions its quick pick offers (pause, done, show) and `mira.task.show` as markdown.
 * Pure: no `vscode` import.
 */

export interface TaskInfo {
  id: number;
  title: string;
  status: string;
  description?: string | null;
  parent_id?: number | null;
  started_at?: number | null;
}

export interface TaskList {
  tasks: TaskInfo[];
  current: number | null;
}

function isTask(value: unknown): value is TaskInfo {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return typeof v.id === "number" && typeof v.title === "string" && typeof v.status === "string";
}

export function isTaskList(value: unknown): value is TaskList {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return (
    Array.isArray(v.tasks) && v.tasks.every(isTask) && (v.current === null || typeof v.current === "number")
  );
}

/** The workspace's current task, or undefined when none is being worked on. */
export function currentTask(list: TaskList): TaskInfo | undefined {
  if (list.current === null) {
    return undefined;
  }
  return list.tasks.find((t) => t.id === list.current && t.status === "doing");
}

/** A title cut to `max` characters (an ellipsis says so). */
export function shorten(text: string, max: number): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length <= max ? one : `${one.slice(0, Math.max(1, max - 1)).trimEnd()}\u2026`;
}

/** Status bar text: the task's title, short. */
export function taskStatusText(t: TaskInfo, max = 40): string {
  return `$(tasklist) ${shorten(t.title, max)}`;
}

/** Tooltip lines: the whole title and what a click offers. */
export function taskTooltip(t: TaskInfo): string[] {
  const lines = [`Current task ${t.id}: ${t.title}`];
  if (t.description?.trim()) {
    lines.push(shorten(t.description, 200));
  }
  lines.push("Click to pause it, mark it done or show it.");
  return lines;
}

export interface TaskAction {
  label: string;
  description: string;
  /** The server command and its one argument object. */
  command: string;
  arg: { id: number; status?: string };
}

/** The quick pick of the status bar item, in order. */
export function taskActions(t: TaskInfo): TaskAction[] {
  return [
    {
      label: "$(debug-pause) Pause",
      description: "snapshot the branch, open errors and modified files; resume later",
      command: "mira.task.pause",
      arg: { id: t.id },
    },
    {
      label: "$(check) Done",
      description: "finish the task (a last snapshot is kept)",
      command: "mira.task.update",
      arg: { id: t.id, status: "done" },
    },
    {
      label: "$(info) Show",
      description: "the task, its subtasks, where it stood and what it cost",
      command: "mira.task.show",
      arg: { id: t.id },
    },
  ];
}

/** Whether a server command may change which task is current (the item refreshes after it). */
export function changesTask(command: string): boolean {
  return command.startsWith("mira.task.") && command !== "mira.task.list" && command !== "mira.task.show";
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function list(items: unknown): unknown[] {
  return Array.isArray(items) ? items : [];
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() ? value : undefined;
}

/** `mira.task.show`'s answer as a markdown document. */
export function taskMarkdown(details: unknown): string {
  if (!isTask(details)) {
    return "# Mira task\n\nThe server's answer was not a task.\n";
  }
  const d = details as TaskInfo & Record<string, unknown>;
  const out = [`# Task ${d.id}: ${d.title}`, "", `Status: **${d.status}**`];
  const desc = str(d.description);
  if (desc) {
    out.push("", desc);
  }
  const rationale = str(d.rationale);
  if (rationale) {
    out.push("", `_Why:_ ${rationale}`);
  }
  const subtasks = list(d.subtasks).filter(isTask);
  if (subtasks.length) {
    out.push("", "## Subtasks", "");
    for (const s of subtasks) {
      out.push(`- [${s.status === "done" ? "x" : " "}] ${s.id}: ${s.title} (${s.status})`);
    }
  }
  const snap = d.snapshot as Record<string, unknown> | null | undefined;
  if (snap && typeof snap === "object") {
    const head = str(snap.head)?.slice(0, 8) ?? "?";
    out.push("", "## Where it stood", "", `- on ${str(snap.branch) ?? "a detached HEAD"} at ${head}`);
    const modified = list(snap.modified).filter((f): f is string => typeof f === "string");
    if (modified.length) {
      out.push(`- modified: ${modified.slice(0, 15).join(", ")}${modified.length > 15 ? ", \u2026" : ""}`);
    }
    for (const e of list(snap.errors).slice(0, 10)) {
      const err = e as Record<string, unknown>;
      out.push(`- error: ${str(err.file) ?? "?"}:${String(err.line ?? "?")} ${str(err.message) ?? ""}`.trimEnd());
    }
    const notes = str(snap.notes);
    if (notes) {
      out.push(`- notes: ${notes}`);
    }
  }
  const session = d.session as Record<string, unknown> | null | undefined;
  if (session && typeof session === "object") {
    const commits = list(session.commits_since_pause).length;
    const files = list(session.files_since_pause).length;
    if (commits || files) {
      out.push("", `Since the pause: ${plural(commits, "commit")}, ${plural(files, "file")} changed.`);
    }
  }
  if (typeof d.operations === "number" && typeof d.cost_usd === "number") {
    out.push("", `${plural(d.operations, "operation")}, $${d.cost_usd.toFixed(4)}.`);
  }
  return `${out.join("\n")}\n`;
}

export type TaskItemState =
  | { show: true; task: TaskInfo; text: string; tooltip: string[] }
  | { show: false; stopPolling: boolean };

/**
 * What the status bar item does with a `mira.task.list {status: "doing"}` answer: show the
 * current task, hide (no current task), or hide and stop polling (the server answered with
 * an error, e.g. no workspace folder or no database: asking again every few minutes would
 * repeat its warning).
 */
export function taskItemState(result: unknown): TaskItemState {
  if (isTaskList(result)) {
    const t = currentTask(result);
    return t ? { show: true, task: t, text: taskStatusText(t), tooltip: taskTooltip(t) } : { show: false, stopPolling: false };
  }
  const error = typeof result === "object" && result !== null && "error" in result;
  return { show: false, stopPolling: error };
}
