import { Command } from "commander";
import { Project, parseComponent } from "../adapters/files.js";
import { describeServices } from "../adapters/ecs.js";
import { familyName, serviceName } from "../core/catalogue.js";
import { InvalidInputError, LgtmError, PreconditionError } from "../core/errors.js";
import { writeRecord } from "../engine/record.js";
import { notStartedRecord, runRelease, type ComponentPlan } from "../engine/release.js";
import { resolveRollbackTarget } from "../engine/targets.js";
import { globals, type Io } from "./context.js";
import { addWatchOptions, clientsFor, engineOptions, finishRelease, recordPath, type WatchFlags } from "./release-options.js";

interface RollbackFlags extends WatchFlags {
  env: string;
  to: string;
  reason?: string;
}

export function registerRollback(program: Command, io: Io, setResult: (code: number) => void): void {
  const cmd = program
    .command("rollback")
    .description("roll a component back to an earlier task definition, watched like a release")
    .argument("<component>", "component to roll back")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .option("--to <target>", "previous | <revision number> | <task definition ARN> | <version or tag>", "previous")
    .option("--reason <text>", "why (kept in the release record)");
  addWatchOptions(cmd).action(async (componentArg: string, flags: RollbackFlags, c: Command) => {
    const g = globals(c);
    const component = parseComponent(componentArg);
    if (flags.reason !== undefined && flags.reason.length > 1000) throw new InvalidInputError("--reason is longer than 1000 characters");
    const env = new Project(g.root).environment(flags.env);
    const clients = await clientsFor(g, env, io);
    try {
      const service = serviceName(component);
      const svc = (await describeServices(clients.ecs, env.cluster, [service])).get(service);
      if (svc === undefined || svc.status !== "ACTIVE") throw new PreconditionError(`service "${service}" does not exist in cluster "${env.cluster}"`);
      const current = svc.deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition ?? svc.taskDefinition;
      const target = await resolveRollbackTarget(clients.ecs, env.cluster, service, familyName(component), current, flags.to);
      if (target.taskDefinitionArn === current) throw new PreconditionError(`${service} already runs ${current} (${target.how}); nothing to roll back`);
      const plan: ComponentPlan = { component, serviceName: service, target: { kind: "existing", taskDefinitionArn: target.taskDefinitionArn, image: target.image, tag: target.tag } };
      io.err(`rolling ${component} back to ${target.taskDefinitionArn} (${target.how}${target.tag ? `, version ${target.tag.version}` : ""})${flags.reason ? `: ${flags.reason}` : ""}`);
      const options = engineOptions("rollback", g, env, io, flags, clients, { reason: flags.reason });
      let outcomes;
      try {
        outcomes = await runRelease([plan], options);
      } catch (error) {
        if (error instanceof LgtmError) writeRecord(recordPath(flags.record, component, false), notStartedRecord(plan, options, error, options.clock.now(), clients.counter.snapshot()));
        throw error;
      }
      setResult(finishRelease(outcomes, flags, io, g.json));
    } finally {
      clients.destroy();
    }
  });
}
