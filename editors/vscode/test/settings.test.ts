import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

import {
  expandPath,
  findExecutable,
  initializationOptions,
  type Inspected,
  isClientKey,
  nest,
  type Properties,
  sectionValue,
  serverEnv,
  serverKeys,
  serverLaunch,
  serverSettings,
  TRUST_KEY,
  userValue,
  withWorkspaceTrust,
} from "../src/settings";

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
const PROPS: Properties = pkg.contributes.configuration.properties;

function inspector(values: Record<string, Inspected>): (k: string) => Inspected | undefined {
  return (k) => values[k];
}

describe("settings mapping", () => {
  it("separates the extension's own settings from the server's", () => {
    assert.equal(isClientKey("mira.server.path"), true);
    assert.equal(isClientKey("mira.ui.statusBar"), true);
    assert.equal(isClientKey("mira.trace.server"), true);
    assert.equal(isClientKey("mira.llm.model"), false);
    assert.equal(isClientKey("mira.serverless"), false);
    const keys = serverKeys(PROPS);
    assert.ok(keys.includes("budget.dailyUsd"));
    assert.ok(keys.includes("llm.model"));
    assert.ok(!keys.some((k) => k.startsWith("server.") || k.startsWith("ui.") || k.startsWith("trace.")));
  });

  it("sends nothing when the user set nothing, so MIRA_* env vars keep working", () => {
    assert.deepEqual(initializationOptions(PROPS, () => ({})), { mira: {} });
  });

  it("sends only user-set values, nested under their sections", () => {
    const opts = initializationOptions(
      PROPS,
      inspector({
        "budget.dailyUsd": { globalValue: 2 },
        "llm.model": { globalValue: "gpt-5.1", workspaceValue: "gpt-5.1-mini" },
        "cache.enabled": { workspaceFolderValue: false, globalValue: true },
        "server.path": { globalValue: "/opt/mira-ls" },
      }),
    );
    assert.deepEqual(opts, {
      mira: { budget: { dailyUsd: 2 }, llm: { model: "gpt-5.1-mini" }, cache: { enabled: false } },
    });
  });

  it("ignores workspace values of user-only (machine) settings", () => {
    assert.equal(PROPS["mira.budget.dailyUsd"].scope, "machine");
    assert.equal(PROPS["mira.llm.baseUrl"].scope, "machine");
    assert.equal(PROPS["mira.build.commands"].scope, "machine");
    const settings = serverSettings(
      PROPS,
      inspector({
        "budget.dailyUsd": { workspaceValue: 1000 },
        "llm.baseUrl": { workspaceValue: "https://evil.example/v1", globalValue: "http://127.0.0.1:8080/v1" },
        "build.commands": { workspaceFolderValue: [{ name: "x", command: ["rm", "-rf", "/"] }] },
      }),
    );
    assert.deepEqual(settings, { llm: { baseUrl: "http://127.0.0.1:8080/v1" } });
  });

  it("sends unset keys as null on change, so a reset setting takes effect", () => {
    const settings = serverSettings(PROPS, inspector({ "budget.dailyUsd": { globalValue: 2 } }), true);
    const budget = settings.budget as Record<string, unknown>;
    assert.equal(budget.dailyUsd, 2);
    assert.equal(budget.monthlyUsd, null);
    assert.equal((settings.llm as Record<string, unknown>).model, null);
    assert.equal(sectionValue(settings, "mira.llm.model"), null);
  });

  it("keeps object-valued settings whole", () => {
    const prices = { "gpt-5.1": { input: 1.25, cachedInput: 0.125, output: 10 } };
    const settings = serverSettings(PROPS, inspector({ "budget.prices": { globalValue: prices } }));
    assert.deepEqual(settings, { budget: { prices } });
  });

  it("userValue prefers folder over workspace over user", () => {
    assert.equal(userValue({ globalValue: 1, workspaceValue: 2, workspaceFolderValue: 3 }), 3);
    assert.equal(userValue({ globalValue: 1, workspaceValue: 2 }), 2);
    assert.equal(userValue({ globalValue: 1, workspaceValue: 2 }, "machine"), 1);
    assert.equal(userValue({ workspaceValue: 2 }, "application"), undefined);
    assert.equal(userValue({ globalValue: false }), false);
    assert.equal(userValue(undefined), undefined);
  });

  it("nest builds sections and later keys do not clobber earlier ones", () => {
    assert.deepEqual(nest({ "a.b": 1, "a.c": 2, d: 3 }), { a: { b: 1, c: 2 }, d: 3 });
  });

  it("answers workspace/configuration for mira and its subsections only", () => {
    const settings = { budget: { dailyUsd: 2 }, llm: { model: "m" } };
    assert.deepEqual(sectionValue(settings, "mira"), settings);
    assert.deepEqual(sectionValue(settings, "mira.budget"), { dailyUsd: 2 });
    assert.equal(sectionValue(settings, "mira.budget.dailyUsd"), 2);
    assert.equal(sectionValue(settings, "mira.cache"), null);
    assert.equal(sectionValue(settings, "python"), null);
  });
});

describe("server launch", () => {
  it("runs mira-ls serve by default", () => {
    assert.deepEqual(serverLaunch({}), { command: "mira-ls", args: ["serve"] });
    assert.deepEqual(serverLaunch({ path: "  " }), { command: "mira-ls", args: ["serve"] });
  });

  it("runs python -m mira_ls serve when an interpreter is set, even with a path", () => {
    assert.deepEqual(serverLaunch({ path: "/x/mira-ls", pythonPath: "${workspaceFolder}/.venv/bin/python" }, "/w"), {
      command: "/w/.venv/bin/python",
      args: ["-m", "mira_ls", "serve"],
    });
  });

  it("passes the log file", () => {
    assert.deepEqual(serverLaunch({ path: "~/bin/mira-ls", logFile: "/tmp/mira.log" }), {
      command: path.join(require("node:os").homedir(), "bin/mira-ls"),
      args: ["serve", "--log-file", "/tmp/mira.log"],
    });
  });

  it("expands ~ and ${userHome}", () => {
    assert.equal(expandPath("~/x", undefined, "/home/u"), "/home/u/x");
    assert.equal(expandPath("${userHome}/y", undefined, "/home/u"), "/home/u/y");
    assert.equal(expandPath("a~b", undefined, "/home/u"), "a~b");
  });

  it("puts the secret-storage API key only in the server's environment", () => {
    assert.deepEqual(serverEnv("sk-test", {}), { MIRA_OPENAI_API_KEY: "sk-test" });
    assert.deepEqual(serverEnv(undefined, {}), {});
    assert.deepEqual(serverEnv("", {}), {});
  });

  it("starts the server with the user's whole environment, not only the key", () => {
    const user = {
      PATH: "/home/u/.venvs/mira/bin:/usr/bin",
      HOME: "/home/u",
      XDG_DATA_HOME: "/home/u/.local/share",
      XDG_STATE_HOME: "/home/u/.local/state",
      MIRA_DB: "/data/mira.db",
      MIRA_BUDGET_DAILY_USD: "2",
      OPENAI_API_KEY: "sk-from-env",
      OPENAI_BASE_URL: "http://127.0.0.1:11434/v1",
      UNSET: undefined,
    };
    const env = serverEnv(undefined, user);
    const { UNSET: _unset, ...defined } = user;
    assert.deepEqual(env, defined);
    assert.ok(!("UNSET" in env));
    // The key from secret storage is added; an exported OPENAI_API_KEY stays (the server
    // prefers MIRA_OPENAI_API_KEY).
    const withKey = serverEnv("sk-secret", user);
    assert.equal(withKey.MIRA_OPENAI_API_KEY, "sk-secret");
    assert.equal(withKey.OPENAI_API_KEY, "sk-from-env");
    assert.equal(withKey.PATH, user.PATH);
    // The input is not modified.
    assert.ok(!("MIRA_OPENAI_API_KEY" in user));
  });

  it("defaults to this process's environment (what VS Code was started with)", () => {
    const env = serverEnv(undefined);
    assert.equal(env.PATH, process.env.PATH);
    assert.equal(env.HOME, process.env.HOME);
    assert.equal(Object.keys(env).length, Object.values(process.env).filter((v) => v !== undefined).length);
  });

  it("finds executables on PATH and reports missing ones", () => {
    const files = new Set(["/usr/local/bin/mira-ls", "/opt/py/bin/python"]);
    const exists = (p: string): boolean => files.has(p);
    const env = { PATH: "/usr/bin:/usr/local/bin" };
    assert.equal(findExecutable("mira-ls", env, exists, "linux"), "/usr/local/bin/mira-ls");
    assert.equal(findExecutable("/opt/py/bin/python", env, exists, "linux"), "/opt/py/bin/python");
    assert.equal(findExecutable("nope", env, exists, "linux"), undefined);
    assert.equal(findExecutable("/missing/python", env, exists, "linux"), undefined);
    const win = new Set(["C:\\Tools\\mira-ls.EXE"]);
    assert.equal(
      findExecutable("mira-ls", { Path: "C:\\Windows;C:\\Tools", PATHEXT: ".EXE;.CMD" }, (p) => win.has(p), "win32"),
      "C:\\Tools\\mira-ls.EXE",
    );
  });
});

describe("workspace trust", () => {
  it("sends VS Code's trust as git.trustRepositoryConfig in initializationOptions", () => {
    assert.equal(TRUST_KEY, "git.trustRepositoryConfig");
    assert.deepEqual(initializationOptions(PROPS, () => ({}), true), {
      mira: { git: { trustRepositoryConfig: true } },
    });
    assert.deepEqual(initializationOptions(PROPS, () => ({}), false), {
      mira: { git: { trustRepositoryConfig: false } },
    });
    // Without a trust value (callers that do not know it), nothing is added.
    assert.deepEqual(initializationOptions(PROPS, () => ({})), { mira: {} });
  });

  it("keeps the other git settings next to the trust", () => {
    const opts = initializationOptions(
      PROPS,
      inspector({ "git.maxChangesetFiles": { globalValue: 50 }, "budget.dailyUsd": { globalValue: 1 } }),
      false,
    );
    assert.deepEqual(opts, {
      mira: { git: { maxChangesetFiles: 50, trustRepositoryConfig: false }, budget: { dailyUsd: 1 } },
    });
  });

  it("never takes git.trustRepositoryConfig from a settings file", () => {
    // Even if package.json contributed the key, a workspace (or folder) .vscode/settings.json
    // saying true in an untrusted workspace is overridden by the trust itself.
    const props: Properties = { ...PROPS, "mira.git.trustRepositoryConfig": { type: "boolean", default: false } };
    const planted = inspector({
      "git.trustRepositoryConfig": { workspaceFolderValue: true, workspaceValue: true, globalValue: true },
    });
    assert.deepEqual(initializationOptions(props, planted, false), {
      mira: { git: { trustRepositoryConfig: false } },
    });
    const changed = withWorkspaceTrust(serverSettings(props, planted, true), false);
    assert.equal((changed.git as Record<string, unknown>).trustRepositoryConfig, false);
    // The answer to workspace/configuration "mira.git.trustRepositoryConfig" follows it.
    assert.equal(sectionValue(changed, "mira.git.trustRepositoryConfig"), false);
    assert.equal(sectionValue(withWorkspaceTrust({}, true), "mira.git.trustRepositoryConfig"), true);
  });

  it("replaces a non-object git section and leaves its input alone", () => {
    const input = { git: "oops", llm: { model: "m" } } as Record<string, unknown>;
    assert.deepEqual(withWorkspaceTrust(input, true), {
      git: { trustRepositoryConfig: true },
      llm: { model: "m" },
    });
    assert.equal(input.git, "oops");
  });
});
