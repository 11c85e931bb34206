/**
 * The release record: one JSON file per component per deploy/rollback, archived by Jenkins. Its shape is a public,
 * versioned contract (docs/release-record.md); add fields, never rename or remove them without bumping schemaVersion.
 *
 * Written early (status "in-progress", before the first change), rewritten at every step that matters, and replaced
 * atomically (temp file + rename), so whatever kills the process, the file at the record path belongs to this run.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import type { ApiCallCounts } from "../adapters/aws.js";
import type { StoppedTask } from "../core/verdict.js";
import type { AnnotationRecord } from "../adapters/grafana.js";

export const RECORD_SCHEMA_VERSION = 1;

export type RecordVerdict =
  /** The new revision reached steady state and stayed healthy through the bake. */
  | "succeeded"
  /** The release failed and the previous revision is serving again (verified through a bake). */
  | "rolled-back"
  /** The release failed and the rollback failed, was impossible, turned off or cut short: the service needs attention. */
  | "failed"
  /** Stopped before this service was changed. */
  | "not-started"
  /** The command is still running (or was killed): see `status` and `phase`. */
  | "in-progress";

export type RecordStatus = "in-progress" | "finished" | "interrupted";

export interface ReleaseRecord {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  tool: { name: "lgtm-deploy"; version: string };
  /** Unique per command run: tells this run's record from an older one at the same path. */
  runId: string;
  status: RecordStatus;
  inProgress: boolean;
  /** The state machine's phase when the record was written (core/rollout.ts). */
  phase: string;
  command: "deploy" | "rollback";
  component: string;
  environment: string;
  cluster: string;
  service: string;
  version: string | null;
  tag: string | null;
  image: string | null;
  imageDigest: string | null;
  taskDefinition: { new: string | null; previous: string | null; rolledBackTo: string | null };
  deployments: {
    release: string | null;
    rollback: string | null;
    rollbackBy: string | null;
    releaseServiceDeployment: string | null;
    rollbackServiceDeployment: string | null;
  };
  startedAt: string;
  finishedAt: string | null;
  durationSeconds: number;
  verdict: RecordVerdict;
  exitCode: number | null;
  /** One line: the outcome as printed. */
  message: string | null;
  /** For exit 4: what to do now. */
  nextStep: string | null;
  /** The service's deployments as last seen. */
  serviceState: string | null;
  failureReasons: string[];
  /** With logLines/logNote on the failed tasks whose logs were read (--log-lines, src/engine/failure-logs.ts). */
  stoppedTasks: Array<StoppedTask & { logLines?: string[]; logNote?: string }>;
  circuitBreaker: { failureCount: number; threshold: number; status?: string } | null;
  alarms: { status?: string; triggered: string[] } | null;
  lastEvents: string[];
  apiCalls: ApiCallCounts;
  reason: string | null;
  triggeredBy: string | null;
  /** --annotate: the Grafana annotation of this component's release (state "off" without --annotate). */
  annotation: AnnotationRecord;
}

/** Writes the record atomically: a temp file in the same directory, fsync, rename over the record path. */
export function writeRecord(file: string, record: ReleaseRecord): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, `${JSON.stringify(record, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Proves the record can be written: the directory exists and accepts a file (created and removed again). */
export function checkRecordPath(file: string): string | undefined {
  const dir = path.dirname(file);
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
  } catch {
    return `directory ${dir} does not exist`;
  }
  try {
    if (statSync(file).isDirectory()) return `${file} is a directory`;
  } catch {
    // no file yet: fine
  }
  try {
    rmSync(mkdtempSync(path.join(dir, ".lgtm-record-check-")), { recursive: true });
  } catch (error) {
    return `cannot write in ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  return undefined;
}
