import { Command } from "commander";
import { Project, parseComponent } from "../adapters/files.js";
import { describeServices } from "../adapters/ecs.js";
import { defaultBakeMs } from "../core/bake.js";
import { familyName, serviceName } from "../core/catalogue.js";
import { InvalidInputError, PreconditionError } from "../core/errors.js";
import { explainError } from "../adapters/aws-errors.js";
import { shortTd } from "../core/names.js";
import { runRelease, type ComponentPlan } from "../engine/driver.js";
import { checkCluster } from "../engine/plan.js";
import { resolveRollbackTarget, unusable, type RollbackTarget } from "../engine/targets.js";
import { DEFAULT_TIMEOUT_FLOOR_SECONDS } from "../core/release-timeout.js";
import { globals, type Io } from "./context.js";
import { componentTimeouts, describeTimeouts, enforceTimeouts, projectMinReady } from "./release-timeouts.js";
import { addReportOptions, reportOptions, type ReportFlags } from "./release-report-options.js";
import { LOOPBACK_URL, addWatchOptions, checkBake, clientsFor, ecsEndpoint, engineOptions, finishRelease, recordPaths, rulesFor, validateWatchFlags, writeNotStarted, boundedPlan, type WatchFlags } from "./release-options.js";

interface RollbackFlags extends WatchFlags, ReportFlags {
  env: string;
  to: string;
  reason?: string;
}

export function registerRollback(program: Command, io: Io, setResult: (code: number) => void): void {
  const cmd = program
    .command("rollback")
    .description("roll a component back to an earlier task definition, watched and baked like a release")
    .argument("<component>", "component to roll back")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .option("--to <target>", "previous | <revision number> | <task definition ARN> | <version or tag>", "previous")
    .option("--reason <text>", "why (kept in the release record)");
  addReportOptions(addWatchOptions(cmd)).action(async (componentArg: string, flags: RollbackFlags, c: Command) => {
    const g = globals(c);
    const component = parseComponent(componentArg);
    if (flags.reason !== undefined && flags.reason.length > 1000) throw new InvalidInputError("--reason is longer than 1000 characters");
    if (flags.to.trim() === "") throw new InvalidInputError("--to is empty: give previous, a revision number, a task definition ARN, a version or an image tag");
    const loopback = LOOPBACK_URL.test(ecsEndpoint(g, io) ?? "");
    validateWatchFlags(flags, { loopback });
    const project = new Project(g.root);
    const env = project.environment(flags.env);
    const report = reportOptions(flags, env, io);
    const paths = recordPaths(flags.record, [component], flags.eventsFile);
    const clients = await clientsFor(g, env, io);
    const options = engineOptions("rollback", g, env, io, flags, clients, { reason: flags.reason, ...report });
    const service = serviceName(component);
    let planned = false;
    try {
      // The plan: read-only, complete before the first change, bounded like the release.
      const plan = await boundedPlan(async (): Promise<{ plan: ComponentPlan; current: string | undefined; target: RollbackTarget }> => {
        await checkCluster(clients, env);
        const svc = (await describeServices(clients.ecs, env.cluster, [service], { timeoutMs: 30_000 })).get(service);
        if (svc === undefined || svc.status !== "ACTIVE") throw new PreconditionError(`service "${service}" does not exist in cluster "${env.cluster}"`);
        const current = svc.deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition ?? svc.taskDefinition;
        const target = await resolveRollbackTarget(clients, env, component, service, familyName(component), current, flags.to);
        if (target.arn === current) throw new PreconditionError(`${service} already runs ${shortTd(current)} (${target.how}); nothing to roll back`);
        const why = await unusable(clients, env, target);
        if (why !== undefined) throw new PreconditionError(`--to ${flags.to}: ${why}`);
        if ((svc.desiredCount ?? 0) === 0 && !flags.allowZeroDesired) throw new PreconditionError(`${service} has desired count 0: nothing would run, so nothing could be verified (--allow-zero-desired to roll back anyway)`);
        const bakeMs = flags.bake ?? defaultBakeMs({ containerDefinitions: target.containerDefinitions });
        // The rollout of the target revision on the service as it is; the min-ready wait from the project's config
        // (the grace period, which the rolling check keeps above it, bounds it anyway).
        const minReady = await projectMinReady(project, env, component).catch(() => 0);
        const t = componentTimeouts(component, env, { containerDefinitions: target.containerDefinitions }, svc, { minReadySeconds: minReady, bakeMs, flags, loopback });
        enforceTimeouts([t], io);
        options.emit({ component, phase: "plan", kind: "timeouts", message: describeTimeouts(t) });
        const resolved = { ...flags, timeout: t.timeout.ms, rollbackTimeout: t.rollbackTimeout.ms };
        checkBake(bakeMs, resolved, flags.bake === undefined ? `the default bake of ${component}` : "--bake");
        const plan: ComponentPlan = {
          component,
          spec: { component, service, command: "rollback", existingTd: target.arn, creates: false, settings: {}, plannedPrevious: current ?? null, rules: rulesFor(resolved, bakeMs) },
          image: target.image,
          digest: target.image?.split("@")[1] ?? null,
          tag: target.tag,
          recordPath: paths.get(component)!,
          essentialContainers: target.containerDefinitions.filter((d) => d.essential !== false).map((d) => d.name!),
          containerDefinitions: target.containerDefinitions,
        };
        return { plan, current, target };
      }, io, flags.timeout ?? DEFAULT_TIMEOUT_FLOOR_SECONDS * 1000);
      const { current, target } = plan;
      planned = true;
      io.err(`rolling ${component} back from ${shortTd(current)} to ${shortTd(target.arn)} (${target.how}${target.tag ? `, version ${target.tag.version}` : ""})${flags.reason ? `: ${flags.reason}` : ""}`);
      setResult(finishRelease(await runRelease([plan.plan], options), paths, io, g.json));
    } catch (error) {
      // Stopped by the plan (whatever stopped it, an AWS error included): this run's record, nothing changed.
      if (!planned) writeNotStarted(explainError(error).error, [{ component, service, image: null, digest: null, tag: null, recordPath: paths.get(component)! }], options, flags.reason);
      throw error;
    } finally {
      clients.destroy();
    }
  });
}
