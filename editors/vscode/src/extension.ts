/**
 * VS Code glue: starts `mira-ls serve`, maps `mira.*` settings, registers the palette
 * commands, streams chat answers into the chat view and keeps the budget and the current
 * task in the status bar.
 * The logic worth testing lives in the pure modules next to this one.
 */

import * as fs from "node:fs";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  ShowMessageNotification,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";

import { ChatView } from "./chatView";
import type { FeedbackChoice } from "./feedback";
import { type ChatChunk, isChatChunk } from "./chunks";
import {
  CHAT_COMMANDS,
  callerLocations,
  chatArgs,
  chatOutcome,
  describeResult,
  diagnosticsAt,
  type EditorState,
  executeParams,
  explainArgs,
  fixErrorArgs,
  missingCommand,
} from "./commands";
import { describe as describeBudget, isBudget } from "./budget";
import {
  findExecutable,
  initializationOptions,
  type Properties,
  SECTION,
  sectionValue,
  serverEnv,
  serverLaunch,
  serverSettings,
  withWorkspaceTrust,
} from "./settings";
import { MessageGate, MessageType } from "./messages";
import { BudgetStatus, TaskStatus } from "./statusBar";
import { changesTask, taskActions, taskItemState, taskMarkdown } from "./task";
import { keepInChatView } from "./showDocument";
import { searchArgs, searchItems, searchNotes } from "./search";
const API_KEY_SECRET = "mira.openaiApiKey";
const CHAT_CHUNK = "mira/chatChunk";

/** Languages the server indexes (tree-sitter grammars it ships). */
const LANGUAGES = [
  "python",
  "javascript",
  "javascriptreact",
  "typescript",
  "typescriptreact",
  "rust",
  "go",
  "java",
  "c",
  "cpp",
];

/** Answer files the server writes under its state dir (mira-ls/answers/...). */
const ANSWER_FILES = "**/mira-ls/**/answers/**/*.md";

class Mira implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly output = vscode.window.createOutputChannel("Mira");
  private readonly chat = new ChatView((choice) => void this.sendFeedback(choice));
  private readonly status = new BudgetStatus(() => this.execute("mira.budget", { quiet: true }, { quiet: true }));
  // Tasks belong to a workspace folder: without one there is nothing to ask (and the server
  // would warn on every poll).
  private readonly taskStatus = new TaskStatus(async () =>
    vscode.workspace.workspaceFolders?.length
      ? this.execute("mira.task.list", { status: "doing" }, { quiet: true })
      : undefined,
  );
  private chatsPending = 0;
  private lastChatEnd: number | undefined;
  private openRequested = false;
  private readonly messages = new MessageGate();

  constructor(private readonly context: vscode.ExtensionContext) {}

  private get properties(): Properties {
    return this.context.extension.packageJSON.contributes.configuration.properties as Properties;
  }

  /** The server's settings as the user set them, with the workspace trust forwarded. */
  private settings(scope?: vscode.Uri): Record<string, unknown> {
    const cfg = vscode.workspace.getConfiguration(SECTION, scope);
    return withWorkspaceTrust(
      serverSettings(this.properties, (key) => cfg.inspect(key), true),
      vscode.workspace.isTrusted,
    );
  }

  async start(): Promise<void> {
    const cfg = vscode.workspace.getConfiguration(SECTION);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const launch = serverLaunch(
      {
        path: cfg.get<string>("server.path"),
        pythonPath: cfg.get<string>("server.pythonPath"),
        logFile: cfg.get<string>("server.logFile"),
      },
      folder,
    );
    const exists = (p: string): boolean => {
      try {
        return fs.statSync(p).isFile();
      } catch {
        return false;
      }
    };
    if (!findExecutable(launch.command, process.env, exists)) {
      const choice = await vscode.window.showErrorMessage(
        `Mira could not find "${launch.command}". Install the server (pip install from a mira-ls checkout) or set ` +
          "mira.server.path to the mira-ls executable, or mira.server.pythonPath to a Python that has it.",
        "Open Settings",
      );
      if (choice === "Open Settings") {
        await vscode.commands.executeCommand("workbench.action.openSettings", "mira.server");
      }
      return;
    }
    const apiKey = await this.context.secrets.get(API_KEY_SECRET);
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      transport: TransportKind.stdio,
      // The user's whole environment plus the key: spawn replaces the environment with `env`.
      options: { env: serverEnv(apiKey, process.env), cwd: folder },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        ...LANGUAGES.map((language) => ({ scheme: "file", language })),
        // answer files (outside the workspace): their code actions rate the answer
        { scheme: "file", language: "markdown", pattern: ANSWER_FILES },
      ],
      initializationOptions: () =>
        initializationOptions(
          this.properties,
          (k) => vscode.workspace.getConfiguration(SECTION).inspect(k),
          vscode.workspace.isTrusted,
        ),
      outputChannel: this.output,
      middleware: {
        // The "N callers" lens runs mira.callers; show its answer as a references peek.
        executeCommand: async (command, args, next) => {
          const result = await next(command, args);
          if (command === "mira.callers") {
            await this.showCallers(args[0], result);
          }
          return result;
        },
        workspace: {
          configuration: async (params, token, next) => {
            const fallback = await next(params, token);
            return params.items.map((item, i) => {
              const section = item.section ?? "";
              if (section === SECTION || section.startsWith(`${SECTION}.`)) {
                const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
                return sectionValue(this.settings(scope), section);
              }
              return Array.isArray(fallback) ? fallback[i] : null;
            });
          },
        },
        window: {
          showDocument: async (params, next) => {
            const keep = keepInChatView(params, {
              openAnswerFiles: vscode.workspace.getConfiguration(SECTION).get<boolean>("ui.openAnswerFiles", false),
              chatsPending: this.chatsPending,
              msSinceLastChat: this.lastChatEnd === undefined ? undefined : Date.now() - this.lastChatEnd,
              openRequested: this.openRequested,
            });
            if (keep) {
              this.chat.linkAnswerFile(params.uri);
              return { success: true };
            }
            // The client's own handler never fails with a ResponseError; it answers {success}.
            return (await next(params, new vscode.CancellationTokenSource().token)) as { success: boolean };
          },
        },
      },
    };
    const client = new LanguageClient("mira", "Mira", serverOptions, clientOptions);
    client.onNotification(CHAT_CHUNK, (params: unknown) => this.onChunk(params));
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.client = undefined;
      const message = err instanceof Error ? err.message : String(err);
      const choice = await vscode.window.showErrorMessage(
        `Mira's server did not start: ${message}`,
        "Show Server Log",
      );
      if (choice) {
        this.output.show();
      }
      return;
    }
    // Replaces the client's own window/showMessage handler (same notifications, same look)
    // so budget polls do not pop up the server's announcement every few minutes.
    client.onNotification(ShowMessageNotification.type, (m) => this.onShowMessage(m.type, m.message));
    this.configureStatus();
  }

  private onShowMessage(type: number, message: string): void {
    if (this.messages.route(type) === "log") {
      this.output.appendLine(`[server] ${message}`);
      return;
    }
    if (type === MessageType.Error) {
      void vscode.window.showErrorMessage(message);
    } else if (type === MessageType.Warning) {
      void vscode.window.showWarningMessage(message);
    } else {
      void vscode.window.showInformationMessage(message);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client && client.state !== State.Stopped) {
      await client.stop();
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private configureStatus(): void {
    const cfg = vscode.workspace.getConfiguration(SECTION);
    const enabled = cfg.get<boolean>("ui.statusBar", true);
    const poll = cfg.get<number>("ui.budgetPollSeconds", 300);
    this.status.configure(enabled, poll);
    this.taskStatus.configure(enabled, poll);
  }

  async onConfigurationChanged(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration(SECTION)) {
      return;
    }
    if (e.affectsConfiguration(`${SECTION}.ui`)) {
      this.configureStatus();
    }
    if (e.affectsConfiguration(`${SECTION}.server`)) {
      const choice = await vscode.window.showInformationMessage(
        "The Mira server settings changed. Restart the server to use them?",
        "Restart",
      );
      if (choice === "Restart") {
        await this.restart();
      }
      return;
    }
    await this.sendSettings();
  }

  /** didChangeConfiguration with the whole `mira` section (the path the server reads). */
  private async sendSettings(): Promise<void> {
    if (this.client?.isRunning()) {
      await this.client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { [SECTION]: this.settings() },
      });
    }
  }

  /** The user trusted the workspace: the server may now honour its git config. */
  async onDidGrantWorkspaceTrust(): Promise<void> {
    this.output.appendLine("Workspace trusted: telling the server (git.trustRepositoryConfig = true).");
    await this.sendSettings();
  }

  /** A thumb under an answer in the chat view: `mira.feedback {operation, helpful}`. */
  private async sendFeedback(choice: FeedbackChoice): Promise<void> {
    const { operation, helpful } = choice;
    this.chat.transcript.setFeedback(operation, { kind: "sending", helpful });
    this.chat.refresh();
    try {
      const result = (await this.execute("mira.feedback", { operation, helpful }, { quiet: true })) as
        | { error?: unknown }
        | undefined;
      const error = typeof result?.error === "string" ? result.error : undefined;
      this.chat.transcript.setFeedback(
        operation,
        error ? { kind: "failed", helpful, error } : { kind: "sent", helpful },
      );
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.chat.transcript.setFeedback(operation, { kind: "failed", helpful, error });
    }
    this.chat.refresh();
  }

  private onChunk(params: unknown): void {
    if (!isChatChunk(params)) {
      this.output.appendLine(`Ignored a ${CHAT_CHUNK} notification that is not {id, seq, text, done}.`);
      return;
    }
    const chunk: ChatChunk = params;
    const first = !this.chat.transcript.chunks.has(chunk.id);
    this.chat.transcript.onChunk(chunk);
    if (first) {
      // Reveal once per answer; a user who closes the panel mid-answer is not pestered.
      this.chat.show();
    }
    this.chat.refresh();
    if (chunk.done) {
      this.status.refreshSoon();
    }
  }

  /**
   * Runs a server command with one object argument. Chat-type commands show their answer in
   * the chat view; failures become one readable message (or, with `quiet`, a thrown error).
   */
  async execute(
    command: string,
    arg: object,
    opts: { label?: string; quiet?: boolean } = {},
  ): Promise<unknown> {
    const client = this.client;
    const advertised = client?.isRunning()
      ? (client.initializeResult?.capabilities.executeCommandProvider?.commands ?? [])
      : undefined;
    const problem = missingCommand(advertised, command);
    if (problem) {
      if (opts.quiet) {
        throw new Error(problem);
      }
      void vscode.window.showWarningMessage(problem);
      return undefined;
    }
    const isChat = CHAT_COMMANDS.has(command) || command === "mira.reviewChanges";
    const exchange = isChat ? this.chat.transcript.begin(opts.label ?? command) : undefined;
    if (exchange) {
      this.chatsPending++;
      this.chat.show();
      this.chat.refresh();
    }
    try {
      const send = (): Promise<unknown> =>
        client!.sendRequest(ExecuteCommandRequest.type, executeParams(command, arg));
      const result = opts.quiet ? await this.messages.whileQuiet(send) : await send();
      if (exchange) {
        this.chat.transcript.finish(exchange, chatOutcome(result));
      }
      if (changesTask(command)) {
        this.taskStatus.refreshSoon();
      }
      return result;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (opts.quiet) {
        throw err;
      }
      if (exchange) {
        this.chat.transcript.finish(exchange, { error: message });
      } else {
        void vscode.window.showErrorMessage(`Mira (${command}): ${message}`);
      }
      return undefined;
    } finally {
      if (exchange) {
        this.chatsPending--;
        this.lastChatEnd = Date.now();
        this.chat.refresh();
        this.status.refreshSoon();
      }
    }
  }

  private async showCallers(arg: unknown, result: unknown): Promise<void> {
    const at = arg as { uri?: unknown; position?: { line?: unknown; character?: unknown } } | undefined;
    const locations = callerLocations(result).map(
      (c) =>
        new vscode.Location(
          vscode.Uri.parse(c.uri),
          new vscode.Range(c.range.start.line, c.range.start.character, c.range.end.line, c.range.end.character),
        ),
    );
    if (
      typeof at?.uri !== "string" ||
      typeof at.position?.line !== "number" ||
      typeof at.position?.character !== "number"
    ) {
      return;
    }
    if (locations.length === 0) {
      void vscode.window.showInformationMessage("Mira found no callers.");
      return;
    }
    await vscode.commands.executeCommand(
      "editor.action.showReferences",
      vscode.Uri.parse(at.uri),
      new vscode.Position(at.position.line, at.position.character),
      locations,
    );
  }

  private editorState(): EditorState | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !this.client) {
      return undefined;
    }
    const sel = editor.selection;
    return {
      uri: this.client.code2ProtocolConverter.asUri(editor.document.uri),
      position: { line: sel.active.line, character: sel.active.character },
      selection: {
        start: { line: sel.start.line, character: sel.start.character },
        end: { line: sel.end.line, character: sel.end.character },
      },
    };
  }

  private where(): string {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      return "";
    }
    const rel = vscode.workspace.asRelativePath(editor.document.uri);
    return ` (${rel}:${editor.selection.active.line + 1})`;
  }

  async chatCommand(arg?: object): Promise<void> {
    if (arg && typeof arg === "object") {
      await this.execute("mira.chat", arg, { label: String((arg as { question?: unknown }).question ?? "Chat") });
      return;
    }
    const editor = this.editorState();
    const hasSelection =
      editor?.selection &&
      (editor.selection.start.line !== editor.selection.end.line ||
        editor.selection.start.character !== editor.selection.end.character);
    const question = await vscode.window.showInputBox({
      title: "Ask Mira",
      prompt: hasSelection ? "Your question about the selected code" : "Your question (the open file and cursor are sent as context)",
      placeHolder: "Why does this function return None for empty input?",
      ignoreFocusOut: true,
    });
    if (!question?.trim()) {
      return;
    }
    await this.execute("mira.chat", chatArgs(question, editor), { label: question.trim() });
  }

  async explainCommand(arg?: object): Promise<void> {
    if (arg && typeof arg === "object") {
      await this.execute("mira.explain", arg, { label: "Explain symbol" });
      return;
    }
    const editor = vscode.window.activeTextEditor;
    const state = this.editorState();
    if (!editor || !state) {
      void vscode.window.showInformationMessage(
        "Open a file and put the cursor on a symbol, then run Mira: Explain Symbol.",
      );
      return;
    }
    const range = editor.document.getWordRangeAtPosition(editor.selection.active);
    const word = range ? editor.document.getText(range) : "symbol";
    await this.execute("mira.explain", explainArgs(state), { label: `Explain \`${word}\`${this.where()}` });
  }

  async fixErrorCommand(arg?: object): Promise<void> {
    if (arg && typeof arg === "object") {
      await this.execute("mira.fixError", arg, { label: "Fix error" });
      return;
    }
    const editor = vscode.window.activeTextEditor;
    const client = this.client;
    if (!editor || !client) {
      void vscode.window.showInformationMessage("Open the file with the error, then run Mira: Fix Error.");
      return;
    }
    const diagnostics = vscode.languages
      .getDiagnostics(editor.document.uri)
      .map((d) => client.code2ProtocolConverter.asDiagnostic(d));
    if (diagnostics.length === 0) {
      void vscode.window.showInformationMessage("This file has no errors or warnings for Mira to fix.");
      return;
    }
    const pos = { line: editor.selection.active.line, character: editor.selection.active.character };
    const candidates = diagnosticsAt(diagnostics, pos);
    let chosen = candidates[0];
    if (candidates.length > 1) {
      const picked = await vscode.window.showQuickPick(
        candidates.map((d) => ({
          label: d.message.split("\n")[0],
          description: [d.source, d.code !== undefined ? String(d.code) : ""]
            .filter(Boolean)
            .join(" "),
          detail: `line ${d.range.start.line + 1}`,
          diagnostic: d,
        })),
        { title: "Which problem should Mira fix?" },
      );
      if (!picked) {
        return;
      }
      chosen = picked.diagnostic;
    }
    const uri = client.code2ProtocolConverter.asUri(editor.document.uri);
    await this.execute("mira.fixError", fixErrorArgs(uri, chosen), {
      label: `Fix: ${chosen.message.split("\n")[0]}${this.where()}`,
    });
  }

  /** Runs a command and says its result, unless the server already announced it. */
  async simpleCommand(command: string, arg?: object): Promise<void> {
    const before = this.messages.infoCount;
    const result = await this.execute(command, arg && typeof arg === "object" ? arg : {});
    if (result !== undefined && this.messages.infoCount === before) {
      void vscode.window.showInformationMessage(`Mira: ${describeResult(result)}`);
    }
  }

  async budgetCommand(): Promise<void> {
    const before = this.messages.infoCount;
    const result = await this.execute("mira.budget", {});
    if (result === undefined) {
      return;
    }
    if (isBudget(result)) {
      this.status.show(result);
    }
    if (this.messages.infoCount !== before) {
      return;
    }
    const text = isBudget(result)
      ? `${describeBudget(result, Date.now() / 1000).join(". ")}.`
      : describeResult(result);
    void vscode.window.showInformationMessage(`Mira budget: ${text}`);
  }

  /**
   * Mira: Search. Asks for the words (the selection or the word under the cursor is the
   * default), shows the ranked results in a quick pick and opens the one picked.
   * An object argument ({query, kind?, limit?}) skips the input box.
   */
  async searchCommand(arg?: object): Promise<void> {
    const given = arg && typeof arg === "object" ? (arg as { query?: unknown; kind?: unknown; limit?: unknown }) : {};
    let query = typeof given.query === "string" ? given.query : undefined;
    if (query === undefined) {
      query = await vscode.window.showInputBox({
        title: "Mira: Search",
        prompt: "Words to look for in the code (names split as you would say them; meaning too, once embedded)",
        placeHolder: "where do we retry failed uploads",
        value: this.searchDefault(),
        ignoreFocusOut: true,
      });
    }
    const args = searchArgs(
      query,
      typeof given.kind === "string" ? given.kind : undefined,
      typeof given.limit === "number" ? given.limit : undefined,
    );
    if (!args) {
      return;
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Mira: searching for ${args.query}` },
      () => this.execute("mira.search", args),
    );
    if (result === undefined) {
      return; // execute said why
    }
    const items = searchItems(result);
    if (items.length === 0) {
      const notes = searchNotes(result);
      void vscode.window.showInformationMessage(`Mira: ${notes.join(" ") || `nothing matches "${args.query}".`}`);
      return;
    }
    const picked = await vscode.window.showQuickPick(items, {
      title: `Mira: ${items.length} result${items.length === 1 ? "" : "s"} for "${args.query}"`,
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!picked) {
      return;
    }
    const r = picked.range;
    await vscode.window.showTextDocument(vscode.Uri.parse(picked.uri), {
      selection: r ? new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character) : undefined,
      preview: true,
    });
  }

  private searchDefault(): string | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      return undefined;
    }
    const sel = editor.selection;
    if (!sel.isEmpty && sel.isSingleLine) {
      return editor.document.getText(sel);
    }
    const word = editor.document.getWordRangeAtPosition(sel.active);
    return word ? editor.document.getText(word) : undefined;
  }

  /** The current task's quick pick: pause, done, show (the task status bar item's click). */
  async currentTaskCommand(): Promise<void> {
    const listed = await this.execute("mira.task.list", { status: "doing" });
    if (listed === undefined) {
      return; // execute said why
    }
    const state = taskItemState(listed);
    if (!state.show) {
      if (!state.stopPolling) {
        void vscode.window.showInformationMessage(
          "Mira: no task is being worked on. Start one with `mira-ls task start ID` (or the mira.task.start command).",
        );
      }
      return;
    }
    const task = state.task;
    const picked = await vscode.window.showQuickPick(
      taskActions(task).map((action) => ({ label: action.label, description: action.description, action })),
      { title: `Mira task ${task.id}: ${task.title}` },
    );
    if (!picked) {
      return;
    }
    const result = await this.execute(picked.action.command, picked.action.arg);
    const failed = typeof result !== "object" || result === null || "error" in result;
    if (picked.action.command === "mira.task.show" && !failed) {
      const doc = await vscode.workspace.openTextDocument({ language: "markdown", content: taskMarkdown(result) });
      await vscode.window.showTextDocument(doc, { preview: true });
    }
  }

  async clearCacheCommand(): Promise<void> {
    const choice = await vscode.window.showWarningMessage(
      "Clear Mira's answer cache? Questions asked again will be answered (and paid for) again.",
      { modal: true },
      "Clear Cache",
    );
    if (choice === "Clear Cache") {
      await this.simpleCommand("mira.clearCache");
    }
  }

  async openReportCommand(arg?: object): Promise<void> {
    this.openRequested = true;
    try {
      await this.execute("mira.openReport", arg && typeof arg === "object" ? arg : {});
    } finally {
      this.openRequested = false;
    }
  }

  async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: "Mira: OpenAI API key",
      prompt: "Stored in VS Code's secret storage and given to the server as MIRA_OPENAI_API_KEY.",
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : "Paste the key, or press Escape to cancel."),
    });
    if (!key?.trim()) {
      return;
    }
    await this.context.secrets.store(API_KEY_SECRET, key.trim());
    await this.restart();
    void vscode.window.showInformationMessage("Mira: API key saved; the server was restarted to use it.");
  }

  async clearApiKey(): Promise<void> {
    await this.context.secrets.delete(API_KEY_SECRET);
    await this.restart();
    void vscode.window.showInformationMessage(
      "Mira: API key removed from secret storage; the server now uses MIRA_OPENAI_API_KEY or OPENAI_API_KEY from the environment, if set.",
    );
  }

  showServerLog(): void {
    this.output.show();
  }

  showChat(): void {
    this.chat.show();
  }

  dispose(): void {
    this.chat.dispose();
    this.status.dispose();
    this.taskStatus.dispose();
    this.output.dispose();
  }
}

let mira: Mira | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const m = new Mira(context);
  mira = m;
  context.subscriptions.push(m);
  const reg = (id: string, fn: (arg?: object) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  };
  reg("mira-ls.chat", (arg) => m.chatCommand(arg));
  reg("mira-ls.explainSymbol", (arg) => m.explainCommand(arg));
  reg("mira-ls.fixError", (arg) => m.fixErrorCommand(arg));
  reg("mira-ls.reviewChanges", (arg) =>
    m.execute("mira.reviewChanges", arg && typeof arg === "object" ? arg : {}, { label: "Review changes" }),
  );
  reg("mira-ls.search", (arg) => m.searchCommand(arg));
  reg("mira-ls.runBuild", (arg) => m.simpleCommand("mira.runBuild", arg));
  reg("mira-ls.showBudget", () => m.budgetCommand());
  reg("mira-ls.resumeBudget", () => m.simpleCommand("mira.resumeBudget"));
  reg("mira-ls.cacheStats", () => m.simpleCommand("mira.cacheStats"));
  reg("mira-ls.clearCache", () => m.clearCacheCommand());
  reg("mira-ls.reindex", (arg) => m.simpleCommand("mira.reindex", arg));
  reg("mira-ls.openReport", (arg) => m.openReportCommand(arg));
  reg("mira-ls.showChat", () => m.showChat());
  reg("mira-ls.currentTask", () => m.currentTaskCommand());
  reg("mira-ls.setApiKey", () => m.setApiKey());
  reg("mira-ls.clearApiKey", () => m.clearApiKey());
  reg("mira-ls.restartServer", () => m.restart());
  reg("mira-ls.showServerLog", () => m.showServerLog());
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => m.onConfigurationChanged(e)));
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => m.onDidGrantWorkspaceTrust()));
  await m.start();
}

export async function deactivate(): Promise<void> {
  await mira?.stop();
  mira = undefined;
}
