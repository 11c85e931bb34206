/**
 * Image builds, the pure part: platform choice, labels and build-args, docker argument vectors, the ECR lifecycle
 * policy and the authorization token. No I/O here; src/commands/build.ts wires it to docker and ECR.
 */
import { COMPONENT_NAMES, repositoryName, type ComponentName } from "./catalogue.js";
import type { Environment } from "./environment.js";
import { InvalidInputError } from "./errors.js";
import { parseJson } from "./json.js";
import type { ParsedTag } from "./tag.js";

export const PLATFORMS = ["linux/amd64", "linux/arm64"] as const;
export type Platform = (typeof PLATFORMS)[number];

const ARCH_TO_PLATFORM: Record<Environment["cpuArchitecture"], Platform> = { X86_64: "linux/amd64", ARM64: "linux/arm64" };

/**
 * The image platform follows the environment's runtimePlatform.cpuArchitecture. A --platform that contradicts it is
 * an error: an ARM64 task cannot start an amd64-only image (and the reverse), so the release would fail at deploy.
 */
export function resolvePlatform(env: Pick<Environment, "cpuArchitecture" | "file">, requested?: string): Platform {
  const wanted = ARCH_TO_PLATFORM[env.cpuArchitecture];
  if (requested === undefined) return wanted;
  if (!(PLATFORMS as readonly string[]).includes(requested)) {
    throw new InvalidInputError(`invalid --platform "${requested}": use ${PLATFORMS.join(" or ")}`);
  }
  if (requested !== wanted) {
    throw new InvalidInputError(
      `--platform ${requested} contradicts ${env.file}: cpuArchitecture ${env.cpuArchitecture} runs ${wanted} images (a task cannot start an image built for another architecture)`,
    );
  }
  return wanted;
}

const IMAGE_REF = /^[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$/;

/** dockerfiles/upstream-versions.json: component → pinned upstream image. Keys starting with "$" are comments. */
export function parseUpstreamVersions(text: string, file: string): Record<ComponentName, string> {
  // Strict JSON (duplicate keys, line:column): src/core/json.ts.
  const raw = parseJson(text, file).value;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new InvalidInputError(`${file}: must be a JSON object`);
  const obj = raw as Record<string, unknown>;
  const problems: string[] = [];
  const out: Partial<Record<ComponentName, string>> = {};
  for (const c of COMPONENT_NAMES) {
    const v = obj[c];
    if (typeof v !== "string") problems.push(`field "${c}": required (the pinned upstream image)`);
    else if (!IMAGE_REF.test(v) || (!v.includes("@") && !/:[^/]+$/.test(v))) problems.push(`field "${c}": "${v}" is not an image reference pinned to a tag or digest`);
    else if (/:latest(@|$)/.test(v)) problems.push(`field "${c}": "latest" is not a pinned version`);
    else out[c] = v;
  }
  for (const k of Object.keys(obj)) if (!k.startsWith("$") && !(COMPONENT_NAMES as readonly string[]).includes(k)) problems.push(`field "${k}": unknown component`);
  if (problems.length > 0) throw new InvalidInputError(`${file}: invalid:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  return out as Record<ComponentName, string>;
}

export interface BuildInput {
  component: ComponentName;
  env: Environment;
  tag: ParsedTag;
  platform: Platform;
  baseImage: string;
  /** Repository URL for org.opencontainers.image.source. */
  source: string;
  /** ISO-8601 creation time (SOURCE_DATE_EPOCH when set, for reproducible labels). */
  created: string;
  /** Directory holding dockerfiles/<component>/ (relative paths are kept as given). */
  dockerfilesDir: string;
}

export interface BuildPlan {
  component: ComponentName;
  registry: string;
  repository: string;
  tag: string;
  /** <registry>/<repository>:<tag> */
  image: string;
  platform: Platform;
  baseImage: string;
  labels: Record<string, string>;
  buildArgs: Record<string, string>;
  dockerfile: string;
  context: string;
}

export function planBuild(input: BuildInput): BuildPlan {
  const { component, env, tag } = input;
  const repository = repositoryName(component, env.ecr.repositoryPrefix);
  const registry = env.ecr.registry;
  const context = `${input.dockerfilesDir.replace(/\/+$/, "")}/${component}`;
  const labels: Record<string, string> = {
    "org.opencontainers.image.title": `lgtm-${component}`,
    "org.opencontainers.image.version": tag.semver,
    "org.opencontainers.image.revision": tag.sha,
    "org.opencontainers.image.source": input.source,
    "org.opencontainers.image.created": input.created,
    "org.opencontainers.image.base.name": input.baseImage,
  };
  return {
    component,
    registry,
    repository,
    tag: tag.tag,
    image: `${registry}/${repository}:${tag.tag}`,
    platform: input.platform,
    baseImage: input.baseImage,
    labels,
    // The Dockerfiles turn these into the same OCI labels, so `docker build` without --label gets them too.
    buildArgs: { BASE_IMAGE: input.baseImage, VERSION: tag.semver, REVISION: tag.sha, SOURCE: input.source, CREATED: input.created },
    dockerfile: `${context}/Dockerfile`,
    context,
  };
}

/** docker build argv (without the executable). */
export function dockerBuildArgs(plan: BuildPlan): string[] {
  const args = ["build", "--platform", plan.platform, "--pull"];
  for (const [k, v] of Object.entries(plan.labels)) args.push("--label", `${k}=${v}`);
  for (const [k, v] of Object.entries(plan.buildArgs)) args.push("--build-arg", `${k}=${v}`);
  args.push("-t", plan.image, "-f", plan.dockerfile, plan.context);
  return args;
}

export function dockerPushArgs(plan: BuildPlan): string[] {
  return ["push", plan.image];
}

/** The password goes to stdin (--password-stdin), never into argv. */
export function dockerLoginArgs(registry: string): string[] {
  return ["login", "--username", "AWS", "--password-stdin", registry];
}

/** ECR lifecycle policy: keep the newest `keep` images of the repository. */
export function lifecyclePolicyText(keep: number): string {
  if (!Number.isInteger(keep) || keep < 1) throw new InvalidInputError(`ecr.keepImages must be a positive integer, got ${keep}`);
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `keep the last ${keep} images`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep },
        action: { type: "expire" },
      },
    ],
  });
}

/** ECR's authorizationToken is base64("AWS:<password>"). */
export function decodeAuthorizationToken(token: string): { username: string; password: string } {
  const text = Buffer.from(token, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0 || colon === text.length - 1) throw new Error("ECR returned a malformed authorization token");
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** A command line for humans (dry-run, logs): POSIX-shell quoted. */
export function formatCommand(executable: string, args: readonly string[]): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [executable, ...args].map(quote).join(" ");
}

/** ISO time from SOURCE_DATE_EPOCH (reproducible builds) or the given clock. */
export function buildTime(sourceDateEpoch: string | undefined, now: Date): string {
  if (sourceDateEpoch !== undefined && sourceDateEpoch !== "") {
    if (!/^\d+$/.test(sourceDateEpoch)) throw new InvalidInputError(`SOURCE_DATE_EPOCH must be seconds since the epoch, got "${sourceDateEpoch}"`);
    return new Date(Number(sourceDateEpoch) * 1000).toISOString().replace(/\.000Z$/, "Z");
  }
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The digest `docker push` prints on its last line ("<tag>: digest: sha256:... size: N"). */
export function pushedDigest(output: string): string | undefined {
  return /digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1];
}

/** ECR's answer when an immutable tag already holds other content. */
export function isImmutableTagConflict(output: string): boolean {
  return /tag invalid|ImageTagAlreadyExists|cannot be overwritten because the (repository|tag) is immutable/i.test(output);
}
