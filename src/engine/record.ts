/**
 * The release record: one JSON file per component per deploy/rollback, archived by Jenkins. Its shape is a public,
 * versioned contract (docs/release-record.md); add fields, never rename or remove them without bumping schemaVersion.
 */
import { writeFileSync } from "node:fs";
import type { ApiCallCounts } from "../adapters/aws.js";
import type { StoppedTask } from "../core/verdict.js";

export const RECORD_SCHEMA_VERSION = 1;

export type RecordVerdict =
  /** The new revision reached steady state. */
  | "succeeded"
  /** The release failed and the service is healthy on the previous revision again. */
  | "rolled-back"
  /** The release failed and the rollback failed too, or there was nothing to roll back to, or rollback was off. */
  | "failed"
  /** Preflight stopped the release: nothing was changed. */
  | "not-started"
  /** --dry-run: nothing was changed. */
  | "dry-run";

export interface ReleaseRecord {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  tool: { name: "lgtm-deploy"; version: string };
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
  deployments: { release: string | null; rollback: string | null; rollbackBy: "lgtm-deploy" | "ecs-circuit-breaker" | null };
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  verdict: RecordVerdict;
  exitCode: number;
  /** Why the release failed (empty on success). */
  failureReasons: string[];
  stoppedTasks: StoppedTask[];
  /** The newest service events seen during the watch, oldest first. */
  lastEvents: string[];
  /** API calls made by the whole command (shared by all components of a multi-component release). */
  apiCalls: ApiCallCounts;
  /** Manual rollbacks: the operator's reason. */
  reason: string | null;
  triggeredBy: string | null;
}

export function writeRecord(file: string, record: ReleaseRecord): void {
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}
