import { Command } from "commander";
import type { AwsClients } from "../adapters/aws.js";
import { Project, parseComponents } from "../adapters/files.js";
import { describeTaskDefinition } from "../adapters/ecs.js";
import { serviceName } from "../core/catalogue.js";
import { diffTaskDefinitions, formatDiff, normalizeRunning } from "../core/diff.js";
import { InvalidInputError } from "../core/errors.js";
import { explainError } from "../adapters/aws-errors.js";
import { seconds, shortTd } from "../core/names.js";
import { imageReference, renderService, renderTaskDefinition, warnings } from "../core/render.js";
import { defaultBakeMs } from "../core/bake.js";
import { changedKeys } from "../core/service-settings.js";
import { runRelease } from "../engine/driver.js";
import { planDeploy, type DeployItem, type PlannedComponent } from "../engine/plan.js";
import { assertRollingSafe } from "./check.js";
import { globals, type Io } from "./context.js";
import { addTagOptions, resolveTag, type TagOptions } from "./options.js";
import { componentTimeouts, describeTimeouts, enforceTimeouts, projectMinReady, type ComponentTimeouts } from "./release-timeouts.js";
import { addReportOptions, reportOptions, type ReportFlags } from "./release-report-options.js";
import { LOOPBACK_URL, addWatchOptions, clientsFor, ecsEndpoint, engineOptions, boundedPlan, finishRelease, recordPaths, validateWatchFlags, writeNotStarted, type WatchFlags } from "./release-options.js";

interface DeployFlags extends WatchFlags, TagOptions, ReportFlags {
  env: string;
  all: boolean;
  atomic: boolean;
  dryRun: boolean;
  createMissing: boolean;
}

export function registerDeploy(program: Command, io: Io, setResult: (code: number) => void): void {
  const cmd = program
    .command("deploy")
    .description("release components: plan (read-only checks), register, UpdateService, watch and bake, roll back on failure")
    .argument("[components...]", "components to release")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .option("--all", "release all six components", false)
    .option("--atomic", "roll back every component of the release when any one fails (or on abort)", false)
    .option("--dry-run", "print the plan: checks, rendered task definition, diff and the calls it would make; change nothing", false)
    .option("--create-missing", "create a service that does not exist yet (first release of a migration)", false);
  addReportOptions(addWatchOptions(addTagOptions(cmd, { allowTag: true }))).action(async (names: string[], flags: DeployFlags, c: Command) => {
    const g = globals(c);
    const project = new Project(g.root);
    const components = parseComponents(names, flags.all);
    if (flags.tag !== undefined && components.length > 1) {
      // One tag cannot fit several components: each has its own VERSION.
      throw new InvalidInputError("--tag applies to a single component; use --sha to release several");
    }
    const loopback = LOOPBACK_URL.test(ecsEndpoint(g, io) ?? "");
    validateWatchFlags(flags, { loopback });
    const env = project.environment(flags.env);
    const report = reportOptions(flags, env, io);
    await assertRollingSafe(project, env, components);
    for (const w of warnings(env)) if (components.includes(w.component)) io.err(`warning: ${w.message}`);
    const paths = recordPaths(flags.record, components, flags.eventsFile);
    const items: DeployItem[] = [];
    const timeouts: ComponentTimeouts[] = [];
    for (const component of components) {
      const tag = await resolveTag(project, component, flags, { releaseBranch: env.releaseBranch });
      const templates = project.templates(component);
      // Rendered once without the digest: bad templates fail here, before any AWS call.
      const td = renderTaskDefinition(component, env, { tag }, templates.taskDefinition);
      const svc = renderService(component, env, { tag }, templates.service);
      const desiredCount = env.components[component]?.desiredCount;
      const t = componentTimeouts(component, env, td, svc, { minReadySeconds: await projectMinReady(project, env, component), ...(desiredCount === undefined ? {} : { desiredCount }), bakeMs: flags.bake ?? defaultBakeMs(td), flags, loopback });
      timeouts.push(t);
      items.push({ component, tag, templates, recordPath: paths.get(component)!, timeoutMs: t.timeout.ms, rollbackTimeoutMs: t.rollbackTimeout.ms });
    }
    enforceTimeouts(timeouts, io);
    // The whole release's bound (waiting for idle services, the plan): its slowest component's. Each component keeps
    // its own deadline, --atomic included: a stuck fast component fails (and with --atomic rolls the others back) early.
    const bound = { ...flags, timeout: Math.max(...items.map((i) => i.timeoutMs)), rollbackTimeout: Math.max(...items.map((i) => i.rollbackTimeoutMs)) };
    const clients = await clientsFor(g, env, io);
    const options = engineOptions("deploy", g, env, io, flags, clients, { atomic: flags.atomic, ...report });
    let planned = false;
    try {
      const say = (component: string, message: string) => options.emit({ component, phase: "plan", kind: "waiting", message });
      if (!flags.dryRun) for (const t of timeouts) options.emit({ component: t.component, phase: "plan", kind: "timeouts", message: describeTimeouts(t), data: { timeoutMs: t.timeout.ms, rollbackTimeoutMs: t.rollbackTimeout.ms, defaultMs: t.derived.defaultSeconds * 1000 } });
      if (flags.atomic && items.length > 1) options.emit({ component: "release", phase: "plan", kind: "timeouts", message: `atomic: every component keeps its own deadline; the release ends within ${seconds(bound.timeout)} + a rollback of up to ${seconds(bound.rollbackTimeout)}` });
      const plan = await boundedPlan(() => planDeploy(items, { env, clients, flags: bound, clock: options.clock, signal: io.signal, say }, { createMissing: flags.createMissing }), io, bound.timeout);
      if (flags.dryRun) return await dryRun(plan, env.cluster, clients, io, g.json, new Map(timeouts.map((t) => [t.component, t])));
      planned = true;
      setResult(finishRelease(await runRelease(plan, options), paths, io, g.json));
    } catch (error) {
      // Stopped by the plan: nothing changed. Still leave a record of this run at every record path — whatever stopped
      // it, an AWS error the plan's reads met included (the message and exit code are the ones the user sees).
      if (!flags.dryRun && !planned) {
        writeNotStarted(explainError(error).error, items.map((i) => ({ component: i.component, service: serviceName(i.component), image: imageReference(i.component, env, { tag: i.tag }), digest: null, tag: i.tag, recordPath: i.recordPath })), options);
      }
      throw error;
    } finally {
      clients.destroy();
    }
  });
}

async function dryRun(plans: PlannedComponent[], cluster: string, clients: AwsClients, io: Io, json: boolean, timeouts: ReadonlyMap<string, ComponentTimeouts>): Promise<void> {
  for (const plan of plans) {
    const svc = plan.service;
    const running = plan.spec.plannedPrevious;
    const current = running ? await describeTaskDefinition(clients.ecs, running) : undefined;
    const diff = await diffTaskDefinitions(current ? normalizeRunning(current.taskDefinition, current.tags) : undefined, plan.register!);
    const settings = svc ? changedKeys(plan.spec.settings, svc) : [];
    const rules = plan.spec.rules;
    const checks = [
      `image ${plan.image} (resolved from ${plan.tag?.tag})`,
      svc ? `service ${plan.spec.service} ACTIVE, idle, running ${shortTd(running)} (desired ${svc.desiredCount})` : `service ${plan.spec.service} does not exist: it will be created`,
      running ? `if this release fails, it rolls back to ${shortTd(running)} (ACTIVE, image still in ECR)` : "no previous revision: a failure cannot be rolled back",
      `watch: ${describeTimeouts(timeouts.get(plan.component)!)}`,
      `watch: timeout ${seconds(rules.timeoutMs)}, bake ${seconds(rules.bakeMs)}, max failed tasks ${rules.maxFailedTasks}${rules.failFast ? ", deterministic first failure fails at once" : ""}, rollback timeout ${seconds(rules.rollbackTimeoutMs)}`,
      `desired count: ${typeof plan.spec.settings.desiredCount === "number" ? `${plan.spec.settings.desiredCount} (from the environment)` : "kept as the service has it"}`,
      `service settings this release changes: ${settings.length > 0 ? settings.join(", ") : "none"}`,
    ];
    const calls = [
      `ECS RegisterTaskDefinition family=${plan.register!.family}`,
      svc ? `ECS UpdateService cluster=${cluster} service=${plan.spec.service} taskDefinition=<new revision> forceNewDeployment=true` : `ECS CreateService cluster=${cluster} service=${plan.spec.service}`,
      `on failure: ECS StopServiceDeployment ROLLBACK while in progress, else UpdateService taskDefinition=${shortTd(running)}`,
    ];
    if (json) {
      const t = timeouts.get(plan.component)!;
      io.out(JSON.stringify({ kind: "dry-run", component: plan.component, checks, timeouts: { timeoutMs: t.timeout.ms, timeoutSource: t.timeout.source, rollbackTimeoutMs: t.rollbackTimeout.ms, rollbackTimeoutSource: t.rollbackTimeout.source, derived: t.derived }, taskDefinition: plan.register, runningTaskDefinition: running, settingsChanged: settings, rules, diff, calls }));
      continue;
    }
    io.out(`== ${plan.component}: plan (read-only checks passed)`);
    for (const line of checks) io.out(`  ${line}`);
    io.out(`== ${plan.component}: rendered task definition`);
    io.out(JSON.stringify(plan.register, null, 2));
    io.out(`== ${plan.component}: changes against ${running ? shortTd(running) : "(no running revision)"}`);
    for (const line of formatDiff(diff)) io.out(line);
    io.out(`== ${plan.component}: calls it would make (dry run: none made)`);
    for (const call of calls) io.out(`  ${call}`);
  }
}
