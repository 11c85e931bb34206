import { Command } from "commander";
import type { AwsClients } from "../adapters/aws.js";
import { Project, parseComponents } from "../adapters/files.js";
import { describeServices, describeTaskDefinition } from "../adapters/ecs.js";
import { repositoryName, serviceName } from "../core/catalogue.js";
import { diffTaskDefinitions, formatDiff, normalizeRunning } from "../core/diff.js";
import { InvalidInputError, LgtmError } from "../core/errors.js";
import { imageReference, renderService, renderTaskDefinition, warnings } from "../core/render.js";
import { resolveDigest } from "../engine/images.js";
import { writeRecord } from "../engine/record.js";
import { notStartedRecord, runRelease, type ComponentPlan } from "../engine/release.js";
import { assertRollingSafe } from "./check.js";
import { globals, type Io } from "./context.js";
import { addTagOptions, resolveTag, type TagOptions } from "./options.js";
import { addWatchOptions, clientsFor, engineOptions, finishRelease, recordPath, type WatchFlags } from "./release-options.js";

interface DeployFlags extends WatchFlags, TagOptions {
  env: string;
  all: boolean;
  atomic: boolean;
  dryRun: boolean;
  createMissing: boolean;
}

export function registerDeploy(program: Command, io: Io, setResult: (code: number) => void): void {
  const cmd = program
    .command("deploy")
    .description("release components: register, UpdateService (forceNewDeployment), watch, roll back on failure")
    .argument("[components...]", "components to release")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .option("--all", "release all six components", false)
    .option("--atomic", "roll back every component of the release when any one fails", false)
    .option("--dry-run", "print the rendered task definition, the diff and the calls it would make; change nothing", false)
    .option("--create-missing", "create a service that does not exist yet (first release of a migration)", false);
  addWatchOptions(addTagOptions(cmd, { allowTag: true })).action(async (names: string[], flags: DeployFlags, c: Command) => {
    const g = globals(c);
    const project = new Project(g.root);
    const components = parseComponents(names, flags.all);
    if (flags.tag !== undefined && components.length > 1) {
      // One tag cannot fit several components: each has its own VERSION.
      throw new InvalidInputError("--tag applies to a single component; use --sha to release several");
    }
    const env = project.environment(flags.env);
    await assertRollingSafe(project, env, components);
    for (const w of warnings(env)) if (components.includes(w.component)) io.err(`warning: ${w.message}`);
    const prepared = [];
    for (const component of components) {
      const tag = await resolveTag(project, component, flags, { releaseBranch: env.releaseBranch });
      prepared.push({ component, tag, templates: project.templates(component) });
    }
    // Rendered once without the digest first: bad templates fail here, before any AWS call.
    const byTag: ComponentPlan[] = prepared.map((p) => ({
      component: p.component,
      serviceName: serviceName(p.component),
      target: { kind: "register", input: renderTaskDefinition(p.component, env, { tag: p.tag }, p.templates.taskDefinition), image: imageReference(p.component, env, { tag: p.tag }), digest: null, tag: p.tag },
      createService: renderService(p.component, env, { tag: p.tag }, p.templates.service),
    }));
    const clients = await clientsFor(g, env, io);
    const options = engineOptions("deploy", g, env, io, flags, clients, { atomic: flags.atomic, createMissing: flags.createMissing });
    const plans: ComponentPlan[] = [];
    try {
      for (const p of prepared) {
        const repo = repositoryName(p.component, env.ecr.repositoryPrefix);
        const digest = await resolveDigest(clients.ecr, repo, p.tag.tag, env.ecr.registry);
        const image = { tag: p.tag, digest };
        plans.push({
          component: p.component,
          serviceName: serviceName(p.component),
          target: { kind: "register", input: renderTaskDefinition(p.component, env, image, p.templates.taskDefinition), image: imageReference(p.component, env, image), digest, tag: p.tag },
          createService: renderService(p.component, env, image, p.templates.service),
        });
      }
      if (flags.dryRun) {
        await dryRun(plans, env.cluster, clients, io, g.json);
        return;
      }
      setResult(finishRelease(await runRelease(plans, options), flags, io, g.json));
    } catch (error) {
      // Stopped before anything changed (missing image, missing service, deployment in flight): still leave a record.
      if (error instanceof LgtmError && !flags.dryRun) {
        for (const fallback of byTag) {
          const plan = plans.find((x) => x.component === fallback.component) ?? fallback;
          writeRecord(recordPath(flags.record, plan.component, byTag.length > 1), notStartedRecord(plan, options, error, options.clock.now(), clients.counter.snapshot()));
        }
      }
      throw error;
    } finally {
      clients.destroy();
    }
  });
}

async function dryRun(plans: ComponentPlan[], cluster: string, clients: AwsClients, io: Io, json: boolean): Promise<void> {
  const services = await describeServices(clients.ecs, cluster, plans.map((p) => p.serviceName));
  for (const plan of plans) {
    if (plan.target.kind !== "register") continue;
    const svc = services.get(plan.serviceName);
    const runningArn = svc?.status === "ACTIVE" ? (svc.deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition ?? svc.taskDefinition) : undefined;
    const running = runningArn ? await describeTaskDefinition(clients.ecs, runningArn) : undefined;
    const diff = await diffTaskDefinitions(running ? normalizeRunning(running.taskDefinition, running.tags) : undefined, plan.target.input);
    const calls = [
      `ECS RegisterTaskDefinition family=${plan.target.input.family} image=${plan.target.image}`,
      svc?.status === "ACTIVE"
        ? `ECS UpdateService cluster=${cluster} service=${plan.serviceName} taskDefinition=<new revision> forceNewDeployment=true`
        : `ECS CreateService cluster=${cluster} service=${plan.serviceName} (needs --create-missing)`,
      `watch deployment; on failure: ECS UpdateService taskDefinition=${runningArn ?? "(no previous revision: rollback impossible)"} forceNewDeployment=true`,
    ];
    if (json) {
      io.out(JSON.stringify({ kind: "dry-run", component: plan.component, taskDefinition: plan.target.input, runningTaskDefinition: runningArn ?? null, diff, calls }));
      continue;
    }
    io.out(`== ${plan.component}: rendered task definition`);
    io.out(JSON.stringify(plan.target.input, null, 2));
    io.out(`== ${plan.component}: changes against ${runningArn ?? "(no running revision)"}`);
    for (const line of formatDiff(diff)) io.out(line);
    io.out(`== ${plan.component}: calls it would make (dry run: none made)`);
    for (const call of calls) io.out(`  ${call}`);
  }
}

