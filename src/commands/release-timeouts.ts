/**
 * The timeouts in force per component for deploy and rollback: the flag when given, else the component's default
 * derived from its rollout (core/release-timeout.ts). Reads the component's baked config for its min-ready wait.
 */
import { effectiveConfig } from "../adapters/configs.js";
import type { Project } from "../adapters/files.js";
import type { ComponentName } from "../core/catalogue.js";
import { TARGET_HEALTH_CHECK } from "../core/effective-config.js";
import type { Environment } from "../core/environment.js";
import { InvalidInputError } from "../core/errors.js";
import { isDataComponent } from "../core/migration.js";
import { seconds } from "../core/names.js";
import { chooseTimeout, releaseTimeouts, rolloutShape, type ReleaseTimeouts, type ServiceShape, type TimeoutChoice } from "../core/release-timeout.js";
import { minReadySeconds } from "../core/rolling.js";
import type { Io } from "./context.js";
import type { WatchFlags } from "./release-options.js";

export interface ComponentTimeouts {
  component: ComponentName;
  derived: ReleaseTimeouts;
  timeout: TimeoutChoice;
  rollbackTimeout: TimeoutChoice;
}

/** The min-ready wait of the component's effective config in this environment (0 when it has none). */
export async function projectMinReady(project: Project, env: Environment, component: ComponentName): Promise<number> {
  return isDataComponent(component) ? minReadySeconds(component, (await effectiveConfig(project, env, component)).config) : 0;
}

export function componentTimeouts(
  component: ComponentName,
  env: Environment,
  td: Parameters<typeof rolloutShape>[1],
  svc: ServiceShape,
  o: { minReadySeconds: number; desiredCount?: number; bakeMs: number; flags: Pick<WatchFlags, "timeout" | "rollbackTimeout">; loopback: boolean },
): ComponentTimeouts {
  const lb = env.loadBalancers[component];
  const targetCheck = { intervalSeconds: lb?.healthCheckIntervalSeconds ?? TARGET_HEALTH_CHECK.intervalSeconds, healthyThresholdCount: lb?.healthyThresholdCount ?? TARGET_HEALTH_CHECK.healthyThresholdCount };
  const shape = rolloutShape(component, td, svc, { minReadySeconds: o.minReadySeconds, ...(o.desiredCount === undefined ? {} : { desiredCount: o.desiredCount }), targetCheck });
  const derived = releaseTimeouts(shape, o.bakeMs);
  return {
    component,
    derived,
    timeout: chooseTimeout("--timeout", o.flags.timeout, derived, { loopback: o.loopback }),
    rollbackTimeout: chooseTimeout("--rollback-timeout", o.flags.rollbackTimeout, derived, { loopback: o.loopback }),
  };
}

/** Refuses (exit 2, nothing changed) every timeout that is certainly too short; prints the warnings. */
export function enforceTimeouts(list: readonly ComponentTimeouts[], io: Io): void {
  const errors = list.flatMap((t) => [t.timeout.error, t.rollbackTimeout.error]).filter((e): e is string => e !== undefined);
  if (errors.length > 0) throw new InvalidInputError(errors.join("\n"));
  for (const t of list) for (const w of [t.timeout.warning, t.rollbackTimeout.warning]) if (w !== undefined) io.err(`warning: ${w}`);
}

/** One line for the plan: the timeouts in force and where they come from. */
export function describeTimeouts(t: ComponentTimeouts): string {
  const from = (c: TimeoutChoice, flag: string) => (c.source === "flag" ? flag : "default");
  return `timeout ${seconds(t.timeout.ms)} (${from(t.timeout, "--timeout")}), rollback timeout ${seconds(t.rollbackTimeout.ms)} (${from(t.rollbackTimeout, "--rollback-timeout")}); ${t.component}'s default: ${t.derived.math}`;
}
