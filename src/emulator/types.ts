/** The emulator's public types (re-exported by index.ts and server.ts). */
import type { ServiceName } from "./protocol.js";
import type { Scenario } from "./scenario.js";

export interface EmulatorOptions {
  /** 0 = random free port. */
  port?: number;
  scenario?: Scenario;
  /** Auto-shutdown after this long (default 2 h, wall clock). */
  maxLifetimeMs?: number;
  region?: string;
  account?: string;
  /** Run the simulation this many times faster than the wall clock (default 1, or the scenario's timeScale). */
  timeScale?: number;
  log?: (line: string) => void;
  /** Called with every API answer (tests use it to check responses against the AWS models). */
  onResponse?: (r: ResponseRecord) => void;
}

export interface ResponseRecord {
  service: ServiceName;
  operation: string;
  status: number;
  body: unknown;
}

export interface CallRecord {
  seq: number;
  /** ISO-8601 simulated time the call arrived (equals the wall clock at time scale 1). */
  time: string;
  /** ISO-8601 wall-clock time the call arrived. */
  wallTime: string;
  service: ServiceName;
  operation: string;
  mutating: boolean;
  /** The parsed request body. */
  input: unknown;
  /** HTTP status answered; 0 when the connection was dropped or left hanging. */
  status: number;
  errorType?: string;
  /** Region from the request's SigV4 credential scope (or the emulator's). */
  region: string;
  /** Account the request acted in. */
  account: string;
  /** Index of the scenario `faults` rule that hit this call, if any. */
  faultRule?: number;
}

export interface Emulator {
  url: string;
  port: number;
  close(): Promise<void>;
  setScenario(s: Scenario): void;
  mergeScenario(s: Partial<Scenario>): void;
  calls(): CallRecord[];
  clearCalls(): void;
}

/** The emulator plus what the CLI and the control API need (not part of the public API). */
export interface RunningEmulator extends Emulator {
  /** Resolves once the server has closed (close(), POST /_emulator/shutdown or max lifetime). */
  readonly closed: Promise<void>;
  /** Why it closed: "close" | "shutdown-endpoint" | "max-lifetime". */
  closeReason(): string | undefined;
}
