/** The CloudWatch Logs API surface (Logs_20140328.*). */
import type { LogsState } from "./state.js";

export const LOGS_OPERATIONS: Record<string, (logs: LogsState, input: Record<string, unknown>, ctx: { now: number }) => Record<string, unknown>> = {};
