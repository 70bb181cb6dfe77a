// The progress port: the core reports how far it got; the CLI plugs in a bar, an Argo step the progress file.
export interface Progress {
  start(total: number, label?: string): void;
  advance(by?: number): void;
  done(): void;
}

/** Reports nothing: the default when no caller asked to watch. */
export const silentProgress: Progress = { start() {}, advance() {}, done() {} };
