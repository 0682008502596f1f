/**
 * Settings mapping between VS Code's `mira.*` configuration and the server.
 *
 * Pure functions (no `vscode` import) so node's test runner can check them. Only values the
 * user actually set are sent: a VS Code default must not override a MIRA_* environment
 * variable the server would otherwise honour (defaults < env < initializationOptions).
 */

import * as os from "node:os";
import * as path from "node:path";

export const SECTION = "mira";

/** Settings that belong to the extension itself and are never sent to the server. */
export const CLIENT_SECTIONS = ["server", "ui", "trace"] as const;

/** Scopes whose values VS Code only takes from user (not workspace) settings. */
const USER_ONLY_SCOPES = new Set(["machine", "application"]);

export interface PropertySchema {
  type?: string | string[];
  default?: unknown;
  scope?: string;
}

/** `contributes.configuration.properties` of package.json: full keys like `mira.llm.model`. */
export type Properties = Record<string, PropertySchema>;

/** The parts of `WorkspaceConfiguration.inspect()` this mapping reads. */
export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** `mira.server.path` -> true; `mira.llm.model` -> false. */
export function isClientKey(fullKey: string): boolean {
  const rel = relativeKey(fullKey);
  return CLIENT_SECTIONS.some((s) => rel === s || rel.startsWith(`${s}.`));
}

export function relativeKey(fullKey: string): string {
  return fullKey.startsWith(`${SECTION}.`) ? fullKey.slice(SECTION.length + 1) : fullKey;
}

/** The server's keys (relative to `mira`), in package.json order. */
export function serverKeys(props: Properties): string[] {
  return Object.keys(props)
    .filter((k) => k.startsWith(`${SECTION}.`) && !isClientKey(k))
    .map(relativeKey);
}

/**
 * The value the user set, or undefined when only the default applies.
 * User-only (machine) settings ignore workspace values, as VS Code itself does, so a cloned
 * repository cannot raise the budget or redirect the API key.
 */
export function userValue(inspected: Inspected | undefined, scope?: string): unknown {
  if (!inspected) {
    return undefined;
  }
  const layers = USER_ONLY_SCOPES.has(scope ?? "")
    ? [inspected.globalValue]
    : [inspected.workspaceFolderValue, inspected.workspaceValue, inspected.globalValue];
  return layers.find((v) => v !== undefined && v !== null);
}

/** `{"llm.model": "x"}` -> `{llm: {model: "x"}}`. */
export function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next !== "object" || next === null || Array.isArray(next)) {
        node[part] = {};
      }
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
  }
  return root;
}

/**
 * The user's server settings, nested under their sections (without the `mira` root).
 * With `unsetAsNull`, keys the user has not set are sent as null: the server then ignores
 * what initializationOptions said for them, so resetting a setting takes effect without a
 * restart (the environment and the server's defaults still apply).
 */
export function serverSettings(
  props: Properties,
  inspect: (relKey: string) => Inspected | undefined,
  unsetAsNull = false,
): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  for (const key of serverKeys(props)) {
    const value = userValue(inspect(key), props[`${SECTION}.${key}`]?.scope);
    if (value !== undefined) {
      flat[key] = value;
    } else if (unsetAsNull) {
      flat[key] = null;
    }
  }
  return nest(flat);
}

/**
 * What goes in `initializationOptions`: the user's settings and, when `trusted` is given, the
 * workspace trust as `git.trustRepositoryConfig`.
 */
export function initializationOptions(
  props: Properties,
  inspect: (relKey: string) => Inspected | undefined,
  trusted?: boolean,
): { mira: Record<string, unknown> } {
  const settings = serverSettings(props, inspect);
  return { mira: trusted === undefined ? settings : withWorkspaceTrust(settings, trusted) };
}

/**
 * Answer for one `workspace/configuration` item: `mira` gives the whole object, `mira.llm`
 * its part; null when the section is not ours or holds nothing the user set.
 */
export function sectionValue(settings: Record<string, unknown>, section: string): unknown {
  if (section === SECTION) {
    return settings;
  }
  if (!section.startsWith(`${SECTION}.`)) {
    return null;
  }
  let node: unknown = settings;
  for (const part of relativeKey(section).split(".")) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) {
      return null;
    }
    node = (node as Record<string, unknown>)[part];
  }
  return node === undefined ? null : node;
}

export interface ClientSettings {
  path?: string;
  pythonPath?: string;
  logFile?: string;
}

export interface ServerLaunch {
  command: string;
  args: string[];
}

/** `~` and `${workspaceFolder}` in paths, as users write them in settings. */
export function expandPath(value: string, workspaceFolder?: string, home = os.homedir()): string {
  let out = value.trim();
  if (workspaceFolder !== undefined) {
    out = out.split("${workspaceFolder}").join(workspaceFolder);
  }
  out = out.split("${userHome}").join(home);
  if (out === "~" || out.startsWith("~/") || out.startsWith("~\\")) {
    out = path.join(home, out.slice(1));
  }
  return out;
}

/** `mira-ls serve`, or `<python> -m mira_ls serve` when an interpreter is configured. */
export function serverLaunch(client: ClientSettings, workspaceFolder?: string): ServerLaunch {
  const extra = client.logFile?.trim()
    ? ["--log-file", expandPath(client.logFile, workspaceFolder)]
    : [];
  const python = client.pythonPath?.trim();
  if (python) {
    return { command: expandPath(python, workspaceFolder), args: ["-m", "mira_ls", "serve", ...extra] };
  }
  const exe = client.path?.trim() || "mira-ls";
  return { command: expandPath(exe, workspaceFolder), args: ["serve", ...extra] };
}

/**
 * The server process's whole environment: VS Code's own (PATH, HOME, XDG_*, MIRA_*, OPENAI_*,
 * ...) plus the API key from secret storage, if any. vscode-languageclient hands `env` to
 * `child_process.spawn`, which *replaces* the environment with it, so it must be complete.
 */
export function serverEnv(
  apiKey: string | undefined,
  base: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined) {
      env[key] = value;
    }
  }
  if (apiKey) {
    env.MIRA_OPENAI_API_KEY = apiKey;
  }
  return env;
}

/** The server key that VS Code's workspace trust decides (never a settings file). */
export const TRUST_KEY = "git.trustRepositoryConfig";

/**
 * Server settings with `git.trustRepositoryConfig` set from VS Code's workspace trust.
 * Whatever a settings file says for that key is replaced: a cloned repository could plant a
 * `.vscode/settings.json` that trusts its own git hooks and filters.
 */
export function withWorkspaceTrust(
  settings: Record<string, unknown>,
  trusted: boolean,
): Record<string, unknown> {
  const [section, key] = TRUST_KEY.split(".");
  const current = settings[section];
  const inner =
    typeof current === "object" && current !== null && !Array.isArray(current)
      ? (current as Record<string, unknown>)
      : {};
  return { ...settings, [section]: { ...inner, [key]: trusted } };
}

/**
 * Where `command` resolves on PATH (or itself when it is a path that exists); undefined when
 * it cannot be found, so the extension can say so before the client fails obscurely.
 */
export function findExecutable(
  command: string,
  env: Record<string, string | undefined>,
  exists: (p: string) => boolean,
  platform: string = process.platform,
): string | undefined {
  const exts =
    platform === "win32" ? ["", ...(env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";")] : [""];
  if (command.includes("/") || command.includes("\\")) {
    return exts.map((e) => command + e).find(exists);
  }
  const sep = platform === "win32" ? ";" : ":";
  const join = platform === "win32" ? path.win32.join : path.posix.join;
  for (const dir of (env.PATH ?? env.Path ?? "").split(sep)) {
    if (!dir) {
      continue;
    }
    for (const ext of exts) {
      const candidate = join(dir, command + ext);
      if (exists(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}
