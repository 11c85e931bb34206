/**
 * Progress as events: one timestamped line per change, per component. Plain text for a Jenkins console (lines of at
 * most 120 characters, wrapped rather than cut; `lgtm-loki:7` rather than ARNs, 12-character digests and task ids;
 * --verbose prints the full forms; colour only on a TTY and never with NO_COLOR), or one JSON object per line with --json (full forms).
 */
import { openSync, writeSync } from "node:fs";
import type { Io } from "../commands/context.js";
import { shorten, wrap } from "../core/names.js";

export interface ReleaseEvent {
  time: number;
  component: string;
  /** phase: the state machine's phase (registering, watching, rolling-back …) or summary; kind: what happened. */
  phase: string;
  kind: string;
  message: string;
  /** debug: only in --events-file (each poll's answer as the engine applied it; too many for a console). */
  level?: "debug" | "info" | "warn" | "error";
  data?: Record<string, unknown>;
}

export type Emit = (event: Omit<ReleaseEvent, "time">) => void;

const COLORS = { warn: "\u001b[33m", error: "\u001b[31m", success: "\u001b[32m", reset: "\u001b[0m" };
export const CONSOLE_WIDTH = 120;

export function makeEmitter(io: Io, opts: { json: boolean; now: () => number; verbose?: boolean }): Emit {
  const color = io.isTTY === true && io.env.NO_COLOR === undefined && io.env.TERM !== "dumb";
  return (partial) => {
    if (partial.level === "debug") return;
    const event: ReleaseEvent = { time: opts.now(), ...partial };
    if (opts.json) {
      io.out(JSON.stringify({ ...event, time: new Date(event.time).toISOString() }));
      return;
    }
    const ts = new Date(event.time).toISOString().replace(/\.\d+Z$/, "Z");
    const line = `${ts} [${event.component}] ${opts.verbose ? event.message : shorten(event.message)}`;
    const c = !color ? undefined : event.level === "error" ? COLORS.error : event.level === "warn" ? COLORS.warn : event.kind === "released" ? COLORS.success : undefined;
    for (const text of opts.verbose ? [line] : wrap(line, CONSOLE_WIDTH)) io.out(c ? `${c}${text}${COLORS.reset}` : text);
  };
}

/**
 * --events-file: every progress event as one JSON object per line (times to the millisecond), alongside the console
 * output — for a machine to read (Jenkins archives it) while people read the console. Written synchronously, so a
 * killed process leaves every event up to the kill. A write that fails is said once on stderr; the release goes on.
 */
export function withEventsFile(emit: Emit, file: string | undefined, io: Io, now: () => number): Emit {
  if (file === undefined) return emit;
  let fd: number | undefined = openSync(file, "w");
  return (partial) => {
    emit(partial);
    if (fd === undefined) return;
    try {
      writeSync(fd, `${JSON.stringify({ time: new Date(now()).toISOString(), ...partial })}\n`);
    } catch (error) {
      io.err(`lgtm-deploy: --events-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; no more events are written there`);
      fd = undefined;
    }
  };
}
