import { Command, Option } from "commander";
import { Project, parseComponents } from "../adapters/files.js";
import { describeServices, describeTaskDefinition } from "../adapters/ecs.js";
import { serviceName } from "../core/catalogue.js";
import { PreconditionError } from "../core/errors.js";
import { awsClients, globals, requireCluster, type Io } from "./context.js";
import { parseNonNegativeInt } from "./options.js";

interface StatusRow {
  component: string;
  service?: string;
  exists: boolean;
  taskDefinition?: string;
  revision?: number | null;
  version?: string | null;
  imageTag?: string | null;
  image?: string | null;
  running?: number;
  pending?: number;
  desired?: number;
  rolloutState?: string | null;
  deployments?: Array<Record<string, unknown>>;
  lastEvents?: Array<{ at?: string; message?: string }>;
}

/** ECS keeps a service's 100 most recent events. */
const MAX_EVENTS = 100;

export function registerStatus(program: Command, io: Io): void {
  program
    .command("status")
    .description("per component: task definition revision, image version, running/desired, rollout state, last events; exit 5 when a service is missing")
    .argument("[components...]", "components (default: all)")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .addOption(new Option("--events <n>", `service events to show per component (0-${MAX_EVENTS})`).default(3).argParser(parseNonNegativeInt("--events", MAX_EVENTS)))
    .action(async (names: string[], opts: { env: string; events: number }, c: Command) => {
      const g = globals(c);
      const components = parseComponents(names, names.length === 0);
      const env = new Project(g.root).environment(opts.env);
      const clients = await awsClients(g, env, io);
      try {
        await requireCluster(clients, env);
        const services = await describeServices(clients.ecs, env.cluster, components.map(serviceName));
        const rows: StatusRow[] = [];
        for (const component of components) {
          const svc = services.get(serviceName(component));
          if (svc === undefined || svc.status !== "ACTIVE") {
            rows.push({ component, service: serviceName(component), exists: false });
            continue;
          }
          const primary = svc.deployments?.find((d) => d.status === "PRIMARY");
          const tdArn = primary?.taskDefinition ?? svc.taskDefinition;
          const td = tdArn ? await describeTaskDefinition(clients.ecs, tdArn) : undefined;
          const tag = (key: string) => td?.tags.find((t) => t.key === key)?.value ?? null;
          rows.push({
            component,
            service: svc.serviceName,
            exists: true,
            taskDefinition: tdArn,
            revision: td?.taskDefinition.revision ?? null,
            version: tag("lgtm:version"),
            imageTag: tag("lgtm:image-tag"),
            image: td?.taskDefinition.containerDefinitions?.[0]?.image ?? null,
            running: svc.runningCount ?? 0,
            pending: svc.pendingCount ?? 0,
            desired: svc.desiredCount ?? 0,
            rolloutState: primary?.rolloutState ?? null,
            deployments: (svc.deployments ?? []).map((d) => ({ id: d.id, status: d.status, taskDefinition: d.taskDefinition, rolloutState: d.rolloutState, running: d.runningCount, desired: d.desiredCount, failedTasks: d.failedTasks })),
            lastEvents: (svc.events ?? []).slice(0, opts.events).map((e) => ({ at: e.createdAt?.toISOString(), message: e.message })),
          });
        }
        const missing = rows.filter((r) => !r.exists).map((r) => r.service!);
        if (g.json) {
          io.out(JSON.stringify({ environment: env.name, cluster: env.cluster, region: env.region, components: rows }, null, 2));
        } else {
          io.out(`environment ${env.name} (${env.file}), cluster ${env.cluster}, region ${env.region}`);
          for (const r of rows) {
            if (!r.exists) {
              io.out(`${r.component}: service ${r.service} does not exist`);
              continue;
            }
            const row = r as Required<StatusRow>;
            io.out(`${row.component}: rev ${row.revision} version ${row.version ?? "?"} (${row.imageTag ?? row.image}) running ${row.running}/${row.desired} pending ${row.pending} rollout ${row.rolloutState ?? "n/a"}${row.deployments.length > 1 ? ` — ${row.deployments.length} deployments in flight` : ""}`);
            for (const e of row.lastEvents) io.out(`    ${e.at} ${e.message}`);
          }
        }
        if (missing.length > 0) {
          throw new PreconditionError(`${missing.length === 1 ? "service" : "services"} ${missing.join(", ")} ${missing.length === 1 ? "does" : "do"} not exist in cluster "${env.cluster}" (${env.region}); the first release creates ${missing.length === 1 ? "it" : "them"}: deploy --create-missing`);
        }
      } finally {
        clients.destroy();
      }
    });
}
