/**
 * Progress as events: one timestamped line per change, per component. Plain text for a Jenkins console (colour only
 * on a TTY and never with NO_COLOR), or one JSON object per line with --json.
 */
import type { Io } from "../commands/context.js";

export interface ReleaseEvent {
  time: number;
  component: string;
  /** phase: preflight, register, update, watch, rollback, summary ... ; kind: what happened. */
  phase: string;
  kind: string;
  message: string;
  level?: "info" | "warn" | "error";
  data?: Record<string, unknown>;
}

export type Emit = (event: Omit<ReleaseEvent, "time">) => void;

const COLORS = { warn: "\u001b[33m", error: "\u001b[31m", success: "\u001b[32m", reset: "\u001b[0m" };

export function makeEmitter(io: Io, opts: { json: boolean; now: () => number }): Emit {
  const color = io.isTTY === true && io.env.NO_COLOR === undefined && io.env.TERM !== "dumb";
  return (partial) => {
    const event: ReleaseEvent = { time: opts.now(), ...partial };
    if (opts.json) {
      io.out(JSON.stringify({ ...event, time: new Date(event.time).toISOString() }));
      return;
    }
    const ts = new Date(event.time).toISOString().replace(/\.\d+Z$/, "Z");
    let text = `${ts} [${event.component}] ${event.message}`;
    if (color) {
      const c = event.level === "error" ? COLORS.error : event.level === "warn" ? COLORS.warn : event.kind === "success" ? COLORS.success : undefined;
      if (c) text = `${c}${text}${COLORS.reset}`;
    }
    io.out(text);
  };
}
