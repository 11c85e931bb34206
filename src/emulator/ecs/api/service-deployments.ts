/**
 * DescribeServiceRevisions and StopServiceDeployment (ListServiceDeployments and DescribeServiceDeployments are
 * reads: reads.ts).
 */
import { AwsApiError, invalidParam } from "../../errors.js";
import { arr, requireString, str } from "../../util.js";
import type { EcsState } from "../state.js";
import { revisionJson } from "../views.js";

export function describeServiceRevisions(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const arns = (arr(input.serviceRevisionArns) ?? []).map(String);
  if (arns.length === 0 || arns.length > 20) throw invalidParam("serviceRevisionArns must contain between 1 and 20 items.");
  const serviceRevisions: unknown[] = [];
  const failures: unknown[] = [];
  for (const a of arns) {
    const r = ecs.revisions.get(a);
    if (r) serviceRevisions.push(revisionJson(r));
    else failures.push({ arn: a, reason: "MISSING", detail: "The service revision does not exist." });
  }
  return { serviceRevisions, failures };
}

const TERMINAL = new Set(["SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"]);

/**
 * StopServiceDeployment: stopType ROLLBACK (default) or ABORT. PENDING/IN_PROGRESS move to ROLLBACK_REQUESTED or
 * STOP_REQUESTED; a request already under way continues; a finished service deployment answers ConflictException
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stop-service-deployment.html lists the stoppable
 * states; the error for the others is the emulator's choice among the operation's modelled errors).
 */
export function stopServiceDeployment(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const arn = requireString(input, "serviceDeploymentArn");
  const stopType = str(input.stopType) ?? "ROLLBACK";
  if (stopType !== "ROLLBACK" && stopType !== "ABORT") throw invalidParam("stopType must be ABORT or ROLLBACK.");
  ecs.checkOwnArn(arn);
  const hit = ecs.serviceDeployments.get(arn);
  if (!hit || hit.svc.status === "INACTIVE") throw new AwsApiError("ServiceDeploymentNotFoundException", "Service deployment not found.");
  const rec = hit.rec;
  if (TERMINAL.has(rec.status)) {
    throw new AwsApiError("ConflictException", `The service deployment is ${rec.status} and cannot be stopped.`);
  }
  if (rec.status === "PENDING" || rec.status === "IN_PROGRESS") {
    rec.status = stopType === "ROLLBACK" ? "ROLLBACK_REQUESTED" : "STOP_REQUESTED";
    rec.stopRequest = stopType;
    ecs.touch();
  }
  return { serviceDeploymentArn: arn };
}
