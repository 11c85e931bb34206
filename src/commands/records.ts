import type { ApiCallCounts } from "../adapters/aws.js";
import type { Environment } from "../core/environment.js";
import type { LgtmError } from "../core/errors.js";
import type { ComponentPlan } from "../engine/release.js";
import { RECORD_SCHEMA_VERSION, type ReleaseRecord } from "../engine/record.js";
import { VERSION } from "../version.js";

/** The record of a release that preflight stopped: nothing was changed. */
export function notStartedRecord(command: "deploy" | "rollback", plan: ComponentPlan, env: Environment, error: LgtmError, apiCalls: ApiCallCounts): ReleaseRecord {
  const now = new Date().toISOString();
  const t = plan.target;
  return {
    schemaVersion: RECORD_SCHEMA_VERSION,
    tool: { name: "lgtm-deploy", version: VERSION },
    command,
    component: plan.component,
    environment: env.name,
    cluster: env.cluster,
    service: plan.serviceName,
    version: t.tag?.version ?? null,
    tag: t.tag?.tag ?? null,
    image: t.image,
    imageDigest: t.kind === "register" ? t.digest : null,
    taskDefinition: { new: t.kind === "existing" ? t.taskDefinitionArn : null, previous: null, rolledBackTo: null },
    deployments: { release: null, rollback: null, rollbackBy: null },
    startedAt: now,
    finishedAt: now,
    durationSeconds: 0,
    verdict: "not-started",
    exitCode: error.exitCode,
    failureReasons: [error.message],
    stoppedTasks: [],
    lastEvents: [],
    apiCalls,
    reason: null,
    triggeredBy: null,
  };
}
