import type { Command } from "commander";

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  root: string;
  json: boolean;
  endpointUrl?: string;
  region?: string;
}

/** Where a command writes. Injected so commands can be run in-process by tests. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Environment variables (process.env in production). */
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal (colour is used only then, and never with NO_COLOR). */
  isTTY?: boolean;
  /** AbortSignal raised on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Raised on a second SIGINT/SIGTERM: write what must be written, synchronously; the process exits right after. */
  hardStop?: AbortSignal;
}

/** Result of a command: the exit code the entry point will use. */
export type CommandResult = number;

export type Register = (program: Command, io: Io, setResult: (code: CommandResult) => void) => void;

export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as Partial<GlobalOptions>;
  return { root: o.root ?? process.cwd(), json: o.json ?? false, endpointUrl: o.endpointUrl, region: o.region };
}
