import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  changesTask,
  currentTask,
  isTaskList,
  shorten,
  taskActions,
  taskItemState,
  taskMarkdown,
  taskStatusText,
  taskTooltip,
} from "../src/task";

// What mira.task.list {status: "doing"} answers (core.task_json per task).
const doing = {
  id: 7,
  parent_id: null,
  title: "Add retry with backoff to the uploader",
  description: "Exponential, capped at 30 s.",
  rationale: null,
  status: "doing",
  source: "user",
  current: true,
  targets: [],
};
const listed = { tasks: [doing], current: 7 };

describe("current task", () => {
  it("recognises the mira.task.list answer and finds the current task", () => {
    assert.equal(isTaskList(listed), true);
    assert.equal(currentTask(listed)?.id, 7);
    assert.equal(currentTask({ tasks: [doing], current: null }), undefined);
    // a current id whose task is not doing (just finished) shows nothing
    assert.equal(currentTask({ tasks: [{ ...doing, status: "done" }], current: 7 }), undefined);
    assert.equal(isTaskList({ tasks: [{ id: "7" }], current: 7 }), false);
    assert.equal(isTaskList({ error: "Tasks belong to a workspace folder: open one first." }), false);
    assert.equal(isTaskList(undefined), false);
  });

  it("shows the title, shortened, with the whole of it in the tooltip", () => {
    assert.equal(taskStatusText(doing), "$(tasklist) Add retry with backoff to the uploader");
    const long = { ...doing, title: "Rewrite   the whole\nstorage layer so that every query goes through one module" };
    const text = taskStatusText(long);
    assert.equal(text, "$(tasklist) Rewrite the whole storage layer so that\u2026");
    assert.ok(text.length <= "$(tasklist) ".length + 40);
    assert.deepEqual(taskTooltip(doing), [
      "Current task 7: Add retry with backoff to the uploader",
      "Exponential, capped at 30 s.",
      "Click to pause it, mark it done or show it.",
    ]);
    assert.equal(shorten("short", 40), "short");
  });

  it("decides what the status bar item does with each answer", () => {
    const shown = taskItemState(listed);
    assert.ok(shown.show);
    assert.equal(shown.task.id, 7);
    assert.equal(shown.text, taskStatusText(doing));
    // no current task: hidden, still polled (one may be started from the CLI)
    assert.deepEqual(taskItemState({ tasks: [], current: null }), { show: false, stopPolling: false });
    // the server said no (no workspace folder, no database): hidden, not asked again until a
    // task command or a settings change
    assert.deepEqual(taskItemState({ error: "Tasks belong to a workspace folder: open one first." }), {
      show: false,
      stopPolling: true,
    });
    assert.deepEqual(taskItemState(undefined), { show: false, stopPolling: false });
  });

  it("offers pause, done and show, each a server command with one argument object", () => {
    const actions = taskActions(doing);
    assert.deepEqual(
      actions.map((a) => [a.label, a.command, a.arg]),
      [
        ["$(debug-pause) Pause", "mira.task.pause", { id: 7 }],
        ["$(check) Done", "mira.task.update", { id: 7, status: "done" }],
        ["$(info) Show", "mira.task.show", { id: 7 }],
      ],
    );
    for (const a of actions) {
      assert.ok(a.description.length > 10, a.label);
    }
  });

  it("refreshes after the task commands that can change the current task", () => {
    for (const c of ["mira.task.start", "mira.task.pause", "mira.task.update", "mira.task.create", "mira.task.decompose"]) {
      assert.equal(changesTask(c), true, c);
    }
    for (const c of ["mira.task.list", "mira.task.show", "mira.chat", "mira.budget"]) {
      assert.equal(changesTask(c), false, c);
    }
  });

  it("renders mira.task.show as markdown", () => {
    const details = {
      ...doing,
      rationale: "Uploads fail on flaky networks.",
      subtasks: [
        { ...doing, id: 8, title: "Wrap the POST in a retry loop", status: "done" },
        { ...doing, id: 9, title: "Cap the delay", status: "todo" },
      ],
      snapshot: {
        at: 1_760_000_000,
        branch: "retry",
        head: "0123456789abcdef",
        modified: ["uploader.py"],
        errors: [{ file: "uploader.py", line: 12, code: "E1", message: "undefined name 'sleep'" }],
        symbols: [],
        chat_session: null,
        notes: "try jitter next",
        reason: "paused",
      },
      session: { id: 3, started_at: 1_760_000_100, commits_since_pause: [{ sha: "abc" }], files_since_pause: ["a.py", "b.py"] },
      operations: 4,
      cost_usd: 0.0123,
    };
    assert.equal(
      taskMarkdown(details),
      [
        "# Task 7: Add retry with backoff to the uploader",
        "",
        "Status: **doing**",
        "",
        "Exponential, capped at 30 s.",
        "",
        "_Why:_ Uploads fail on flaky networks.",
        "",
        "## Subtasks",
        "",
        "- [x] 8: Wrap the POST in a retry loop (done)",
        "- [ ] 9: Cap the delay (todo)",
        "",
        "## Where it stood",
        "",
        "- on retry at 01234567",
        "- modified: uploader.py",
        "- error: uploader.py:12 undefined name 'sleep'",
        "- notes: try jitter next",
        "",
        "Since the pause: 1 commit, 2 files changed.",
        "",
        "4 operations, $0.0123.",
        "",
      ].join("\n"),
    );
    assert.match(taskMarkdown({ error: "no such task" }), /not a task/);
  });
});
