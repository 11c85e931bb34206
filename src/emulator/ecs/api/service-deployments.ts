/**
 * DescribeServiceRevisions and StopServiceDeployment (ListServiceDeployments and DescribeServiceDeployments are
 * reads: reads.ts).
 */
import { invalidParam } from "../../errors.js";
import { arr } from "../../util.js";
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
