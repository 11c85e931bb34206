/**
 * The component catalogue: the single source of truth for the six LGTM components.
 * Numbers are the team's sizing; everything else (templates, configs, tests) is checked against this.
 */

export const COMPONENT_NAMES = ["mimir", "loki", "tempo", "pyroscope", "grafana", "alloy"] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

export interface PortSpec {
  /** Port mapping name (also used by Service Connect / documentation). */
  name: string;
  containerPort: number;
  protocol: "tcp";
}

export interface DeploymentShape {
  minimumHealthyPercent: number;
  maximumPercent: number;
}

export interface Component {
  name: ComponentName;
  /** Desired task count. */
  tasks: number;
  /** Task CPU units (1024 = 1 vCPU). */
  cpu: number;
  /** Task memory in MiB. */
  memory: number;
  ports: readonly PortSpec[];
  /** Path an HTTP health probe (ALB target group) should use. */
  readyPath: string;
  /** Ephemeral storage in GiB for components that keep a WAL / blocks locally; undefined = Fargate default (20). */
  ephemeralStorageGiB?: number;
  deployment: DeploymentShape;
  /** The existing S3 prefix layout in the shared bucket (must be kept as it is). */
  s3Prefixes: Readonly<Record<string, string>>;
  notes: string;
}

const tcp = (name: string, containerPort: number): PortSpec => ({ name, containerPort, protocol: "tcp" });

export const CATALOGUE: Readonly<Record<ComponentName, Component>> = {
  mimir: {
    name: "mimir",
    tasks: 3,
    cpu: 2048,
    memory: 4096,
    ports: [tcp("http", 9009), tcp("grpc", 9095), tcp("memberlist", 7946)],
    readyPath: "/ready",
    ephemeralStorageGiB: 50,
    // One task at a time keeps RF 3 quorum (2 of 3) during the rollout.
    deployment: { minimumHealthyPercent: 66, maximumPercent: 100 },
    s3Prefixes: { blocks: "blocks", ruler: "rules", alertmanager: "alerts" },
    notes: "monolithic, memberlist ring, RF 3",
  },
  loki: {
    name: "loki",
    tasks: 2,
    cpu: 1024,
    memory: 2048,
    ports: [tcp("http", 3100), tcp("grpc", 9095), tcp("memberlist", 7946)],
    readyPath: "/ready",
    ephemeralStorageGiB: 30,
    deployment: { minimumHealthyPercent: 50, maximumPercent: 100 },
    s3Prefixes: { storage: "ftt-loki/" },
    notes: "monolithic, memberlist ring",
  },
  tempo: {
    name: "tempo",
    tasks: 1,
    cpu: 1024,
    memory: 2048,
    ports: [tcp("http", 3200), tcp("grpc", 9095), tcp("otlp-grpc", 4317), tcp("otlp-http", 4318)],
    readyPath: "/ready",
    ephemeralStorageGiB: 30,
    // Stop-first: two independent single-instance Tempos must never overlap.
    deployment: { minimumHealthyPercent: 0, maximumPercent: 100 },
    s3Prefixes: { storage: "ftt-tempo/" },
    notes: "single instance",
  },
  pyroscope: {
    name: "pyroscope",
    tasks: 1,
    cpu: 1024,
    memory: 2048,
    ports: [tcp("http", 4040), tcp("memberlist", 7946)],
    readyPath: "/ready",
    ephemeralStorageGiB: 30,
    deployment: { minimumHealthyPercent: 0, maximumPercent: 100 },
    s3Prefixes: { storage: "ftt-pyroscope/" },
    notes: "single instance",
  },
  grafana: {
    name: "grafana",
    tasks: 1,
    cpu: 512,
    memory: 1024,
    ports: [tcp("http", 3000)],
    readyPath: "/api/health",
    deployment: { minimumHealthyPercent: 100, maximumPercent: 200 },
    s3Prefixes: {},
    notes: "external database (SQLite only in the local environment)",
  },
  alloy: {
    name: "alloy",
    tasks: 1,
    cpu: 512,
    memory: 1024,
    ports: [tcp("http", 12345), tcp("otlp-grpc", 4317), tcp("otlp-http", 4318)],
    readyPath: "/-/ready",
    deployment: { minimumHealthyPercent: 100, maximumPercent: 200 },
    s3Prefixes: {},
    notes: "collector",
  },
};

export function isComponentName(value: string): value is ComponentName {
  return (COMPONENT_NAMES as readonly string[]).includes(value);
}

/** ECS service name and task-definition family. */
export const serviceName = (component: ComponentName): string => `lgtm-${component}`;
export const familyName = serviceName;
/** Cloud Map name, e.g. mimir.lgtm.local */
export const discoveryName = (component: ComponentName, namespace: string): string => `${component}.${namespace}`;
export const repositoryName = (component: ComponentName, prefix: string): string => `${prefix}${component}`;
