/**
 * Routing of the server's window/showMessage. The server announces the result of some
 * commands (mira.budget, mira.cacheStats, ...) with a message, which is right when a person ran
 * them but noise when the status bar polls the budget: during a quiet request, informational
 * messages go to the output panel instead of a notification. The count of informational
 * messages lets a command tell whether the server already said its result. Pure.
 */

/** LSP MessageType values. */
export const MessageType = { Error: 1, Warning: 2, Info: 3, Log: 4 } as const;

export class MessageGate {
  private quiet = 0;
  private infos = 0;

  /** Runs `fn` with informational messages kept out of notifications. */
  async whileQuiet<T>(fn: () => Promise<T>): Promise<T> {
    this.quiet++;
    try {
      return await fn();
    } finally {
      this.quiet--;
    }
  }

  /** Where a message of this type goes now: a notification or the output panel. */
  route(type: number): "notify" | "log" {
    if (type >= MessageType.Info) {
      this.infos++;
      return this.quiet > 0 ? "log" : "notify";
    }
    return "notify";
  }

  /** Informational messages seen so far; compare before and after a request. */
  get infoCount(): number {
    return this.infos;
  }
}
