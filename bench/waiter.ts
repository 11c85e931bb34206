/**
 * `aws ecs wait services-stable`, emulated in-process so it can run on the emulator's simulated clock.
 *
 * The real AWS CLI sleeps its 15 s delay in wall time, so under a time scale it would poll 20× too rarely. This runs
 * the same waiter: botocore's definition (ecs/2014-11-13/waiters-2.json, "ServicesStable", copied below and compared
 * with the file the installed awscli ships by test/bench-harness.test.ts) evaluated the way botocore's waiter does —
 * call DescribeServices at once, then after every `delay` seconds up to `maxAttempts` calls; the first acceptor that
 * matches decides; an API error no acceptor expects ends the wait as a failure; a success ends it with exit 0. Only the
 * delay is slept on the simulated clock.
 */
import { DescribeServicesCommand, type DescribeServicesCommandOutput, type ECSClient } from "@aws-sdk/client-ecs";
import type { Clock } from "../src/adapters/clock.js";

export interface Acceptor {
  matcher: "path" | "pathAny" | "pathAll";
  argument: string;
  state: "success" | "failure" | "retry";
  expected: string | boolean;
}

export interface WaiterDefinition {
  delay: number;
  maxAttempts: number;
  operation: string;
  acceptors: Acceptor[];
}

/** botocore/data/ecs/2014-11-13/waiters-2.json → waiters.ServicesStable (awscli 2.9.19, Debian 12). */
export const SERVICES_STABLE: WaiterDefinition = {
  delay: 15,
  maxAttempts: 40,
  operation: "DescribeServices",
  acceptors: [
    { matcher: "pathAny", argument: "failures[].reason", state: "failure", expected: "MISSING" },
    { matcher: "pathAny", argument: "services[].status", state: "failure", expected: "DRAINING" },
    { matcher: "pathAny", argument: "services[].status", state: "failure", expected: "INACTIVE" },
    { matcher: "path", argument: "length(services[?!(length(deployments) == `1` && runningCount == desiredCount)]) == `0`", state: "success", expected: true },
  ],
};

/**
 * The JMESPath expressions the definition uses, translated (as the AWS SDK's generated waiters translate them). An
 * expression not listed here throws, so a changed definition cannot be evaluated wrongly in silence.
 */
const EXPRESSIONS: Record<string, (r: DescribeServicesCommandOutput) => unknown> = {
  "failures[].reason": (r) => (r.failures ?? []).map((f) => f.reason),
  "services[].status": (r) => (r.services ?? []).map((s) => s.status),
  "length(services[?!(length(deployments) == `1` && runningCount == desiredCount)]) == `0`": (r) =>
    (r.services ?? []).filter((s) => !((s.deployments ?? []).length === 1 && s.runningCount === s.desiredCount)).length === 0,
};

/** botocore's matchers: path (equal), pathAny (some element equal), pathAll (a non-empty list, every element equal). */
export function evaluate(def: WaiterDefinition, response: DescribeServicesCommandOutput): Acceptor["state"] | undefined {
  for (const a of def.acceptors) {
    const expr = EXPRESSIONS[a.argument];
    if (expr === undefined) throw new Error(`waiter expression not supported by the bench: ${a.argument}`);
    const v = expr(response);
    const hit =
      a.matcher === "path" ? v === a.expected
      : a.matcher === "pathAny" ? Array.isArray(v) && v.some((x) => x === a.expected)
      : Array.isArray(v) && v.length > 0 && v.every((x) => x === a.expected);
    if (hit) return a.state;
  }
  return undefined;
}

export interface WaitResult {
  /** What the CLI's exit code would say: 0 success, 255 a failure acceptor, an error or max attempts. */
  exitCode: 0 | 255;
  why: "success" | "failure acceptor" | "error" | "max attempts";
  attempts: number;
}

export async function waitServicesStable(ecs: ECSClient, cluster: string, services: string[], clock: Clock, def = SERVICES_STABLE): Promise<WaitResult> {
  for (let attempt = 1; ; attempt++) {
    let out: DescribeServicesCommandOutput;
    try {
      out = await ecs.send(new DescribeServicesCommand({ cluster, services }));
    } catch {
      return { exitCode: 255, why: "error", attempts: attempt };
    }
    const state = evaluate(def, out);
    if (state === "success") return { exitCode: 0, why: "success", attempts: attempt };
    if (state === "failure") return { exitCode: 255, why: "failure acceptor", attempts: attempt };
    if (attempt >= def.maxAttempts) return { exitCode: 255, why: "max attempts", attempts: attempt };
    await clock.sleep(def.delay * 1000);
  }
}
