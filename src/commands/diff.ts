import { Command } from "commander";
import { Project, parseComponent } from "../adapters/files.js";
import { describeServices, describeTaskDefinition } from "../adapters/ecs.js";
import { repositoryName, serviceName } from "../core/catalogue.js";
import { diffTaskDefinitions, formatDiff, normalizeRunning } from "../core/diff.js";
import { ExitCode, LgtmError } from "../core/errors.js";
import { renderTaskDefinition } from "../core/render.js";
import { resolveDigest } from "../engine/images.js";
import { awsClients, globals, requireCluster, type Io } from "./context.js";
import { addTagOptions, resolveTag } from "./options.js";

export function registerDiff(program: Command, io: Io, setResult: (code: number) => void): void {
  addTagOptions(
    program
      .command("diff")
      .description("what would change between the running task definition and the rendered one (list items matched by name)")
      .argument("<component>")
      .requiredOption("--env <name>", "environment (environments/<name>.json)")
      .option("--exit-code", `exit ${ExitCode.Differences} when there are differences (0 when there are none)`, false),
    { allowTag: true },
  )
    .action(async (componentArg: string, opts: { env: string; tag?: string; sha?: string; branch?: string; build?: number; exitCode: boolean }, c: Command) => {
      const g = globals(c);
      const component = parseComponent(componentArg);
      const project = new Project(g.root);
      const env = project.environment(opts.env);
      const tag = await resolveTag(project, component, opts, { releaseBranch: env.releaseBranch });
      const template = project.templates(component).taskDefinition;
      renderTaskDefinition(component, env, { tag }, template);
      const clients = await awsClients(g, env, io);
      try {
        await requireCluster(clients, env);
        // Compare like with like: a deploy pins the digest, so resolve it when the image exists.
        let digest: string | undefined;
        try {
          digest = await resolveDigest(clients.ecr, repositoryName(component, env.ecr.repositoryPrefix), tag.tag, env.ecr.registry);
        } catch (error) {
          if (!(error instanceof LgtmError)) throw error;
          io.err(`note: ${error.message}; comparing with the tag reference`);
        }
        const rendered = renderTaskDefinition(component, env, { tag, ...(digest ? { digest } : {}) }, template);
        const svc = (await describeServices(clients.ecs, env.cluster, [serviceName(component)])).get(serviceName(component));
        const arn = svc?.status === "ACTIVE" ? (svc.deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition ?? svc.taskDefinition) : undefined;
        const running = arn ? await describeTaskDefinition(clients.ecs, arn) : undefined;
        const lines = await diffTaskDefinitions(running ? normalizeRunning(running.taskDefinition, running.tags) : undefined, rendered);
        if (g.json) io.out(JSON.stringify({ component, running: arn ?? null, tag: tag.tag, changes: lines }, null, 2));
        else {
          io.out(`--- ${arn ?? `(no running task definition: service ${serviceName(component)} does not exist yet)`}`);
          io.out(`+++ rendered ${component} ${tag.tag}`);
          for (const l of formatDiff(lines)) io.out(l);
        }
        if (opts.exitCode && lines.length > 0) setResult(ExitCode.Differences);
      } finally {
        clients.destroy();
      }
    });
}
