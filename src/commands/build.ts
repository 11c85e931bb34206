import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import type { AwsClients } from "../adapters/aws.js";
import { mapAwsError } from "../adapters/aws-errors.js";
import { docker, dockerExecutable, dockerFailure, requireDocker, runDocker, tail } from "../adapters/docker.js";
import { describeImage, describeRepository, ensureRepository, getRegistryLogin, type RegistryLogin } from "../adapters/ecr.js";
import { Project, checkWritableFile, parseComponent } from "../adapters/files.js";
import {
  buildTime,
  dockerBuildArgs,
  dockerLoginArgs,
  dockerPushArgs,
  formatCommand,
  isImmutableTagConflict,
  parseUpstreamVersions,
  planBuild,
  pushedDigest,
  resolvePlatform,
  type BuildPlan,
} from "../core/build.js";
import type { ComponentName } from "../core/catalogue.js";
import { ExitCode, InvalidInputError, LgtmError, PreconditionError } from "../core/errors.js";
import { awsClients, globals, type CommandResult, type Io } from "./context.js";
import { addTagOptions, resolveTag } from "./options.js";

interface BuildOptions {
  env: string;
  sha?: string;
  branch?: string;
  build?: number;
  push: boolean;
  platform?: string;
  dryRun: boolean;
  record?: string;
}

export interface BuildRecord {
  component: ComponentName;
  tag: string;
  image: string;
  digest: string | null;
  skipped: boolean;
}

const BUILD_HELP = `
Builds dockerfiles/<component>/ on the pinned upstream image (dockerfiles/upstream-versions.json) for the
environment's CPU architecture, tags it <registry>/<prefix><component>:<semver+sha tag>, and with --push logs in
to ECR (token on stdin only), pushes, and reads the digest back from ECR. A tag that already exists in ECR is not
built again (exit 0). docker is "docker" on PATH or $LGTM_DOCKER.

Failures: unknown component, missing Dockerfile/config, bad VERSION or --platform: 2; docker failed: 1 (with its
exit code and output); docker CLI not found, ECR authentication failed, tag already holds other content: 5.`;

/** COPY sources of a Dockerfile (enough to say "config file missing" before docker does). */
function copySources(dockerfile: string): string[] {
  const out: string[] = [];
  for (const line of dockerfile.replace(/\\\n/g, " ").split("\n")) {
    const m = /^\s*(?:COPY|ADD)\s+(.*)$/i.exec(line);
    if (!m) continue;
    const rest = m[1]!.trim();
    if (rest.startsWith("[")) continue;
    const parts = rest.split(/\s+/).filter((p) => !p.startsWith("--"));
    out.push(...parts.slice(0, -1));
  }
  return out;
}

function checkSources(project: Project, component: ComponentName): { dockerfile: string; baseImage: string } {
  const dir = path.join(project.root, "dockerfiles", component);
  const rel = (f: string) => path.relative(process.cwd(), f) || f;
  const dockerfile = path.join(dir, "Dockerfile");
  if (!existsSync(dockerfile)) throw new InvalidInputError(`Dockerfile not found: ${rel(dockerfile)}`);
  const missing = copySources(readFileSync(dockerfile, "utf8")).filter((src) => !existsSync(path.join(dir, src)));
  if (missing.length > 0) throw new InvalidInputError(`${rel(dockerfile)} copies ${missing.map((m) => rel(path.join(dir, m))).join(", ")}, which does not exist`);
  const versionsFile = path.join(project.root, "dockerfiles", "upstream-versions.json");
  if (!existsSync(versionsFile)) throw new InvalidInputError(`upstream versions file not found: ${rel(versionsFile)}`);
  const baseImage = parseUpstreamVersions(readFileSync(versionsFile, "utf8"), rel(versionsFile))[component];
  return { dockerfile, baseImage };
}

export function registerBuild(program: Command, io: Io, setResult: (code: CommandResult) => void): void {
  addTagOptions(
    program
      .command("build")
      .description("build (and with --push, push) a component's image to ECR; skips tags that already exist")
      .argument("<component>", "mimir, loki, tempo, pyroscope, grafana or alloy")
      .requiredOption("--env <name>", "environment (environments/<name>.json): registry, repository prefix, CPU architecture")
      .option("--push", "log in to ECR and push the image, then read its digest back", false)
      .option("--platform <platform>", "linux/amd64 or linux/arm64; default and only allowed value: the environment's cpuArchitecture")
      .option("--dry-run", "print the docker commands; run no docker command and make no mutating AWS call", false)
      .option("--record <file>", "write {component, tag, image, digest, skipped} here (default lgtm-build-<component>.json)")
      .addHelpText("after", BUILD_HELP),
    { allowTag: false },
  )
    .action(async (componentArg: string, opts: BuildOptions, cmd: Command) => {
      const g = globals(cmd);
      const component = parseComponent(componentArg);
      const project = new Project(g.root);
      const env = project.environment(opts.env);
      const platform = resolvePlatform(env, opts.platform);
      const { baseImage } = checkSources(project, component);
      const tag = await resolveTag(project, component, opts, { releaseBranch: env.releaseBranch, shaFromGit: true });
      const plan = planBuild({
        component,
        env,
        tag,
        platform,
        baseImage,
        source: io.env.LGTM_SOURCE_URL ?? io.env.GIT_URL ?? "unknown",
        created: buildTime(io.env.SOURCE_DATE_EPOCH, new Date()),
        dockerfilesDir: path.join(g.root, "dockerfiles"),
      });
      const recordFile = opts.record ?? `lgtm-build-${component}.json`;
      const exe = dockerExecutable(io.env);
      const say = (line: string) => io.err(line);
      // The rest of the plan, before any AWS call or docker command: the record can be written, docker exists.
      if (!opts.dryRun) {
        checkWritableFile(recordFile, "--record");
        requireDocker(io.env);
      }
      const aws = await awsClients(g, env, io);
      try {
        const emit = (record: BuildRecord, extra: Record<string, unknown> = {}) => {
          if (g.json) io.out(JSON.stringify({ ...record, ...extra }));
          else if (record.skipped) io.out(`${record.image} already in ECR (${record.digest ?? "digest unknown"}): nothing built`);
          else if (record.digest !== null) io.out(`${record.image}@${record.digest}`);
          else io.out(record.image);
        };

        if (opts.dryRun) {
          const lines: string[] = [];
          let existing;
          try {
            const repo = await describeRepository(aws.ecr, plan.repository);
            if (repo === undefined) lines.push(`# would create ECR repository ${plan.repository} (IMMUTABLE, scanOnPush, keep ${env.ecr.keepImages} images)`);
            else existing = await describeImage(aws.ecr, plan.repository, plan.tag);
          } catch (error) {
            lines.push(`# could not read ECR (${mapAwsError(error)?.message ?? (error as Error).message}); showing the full build`);
          }
          if (existing?.imageDigest !== undefined) lines.push(`# ${plan.image} already exists (${existing.imageDigest}): the build would be skipped`);
          lines.push(formatCommand(exe, dockerBuildArgs(plan)));
          if (opts.push) {
            lines.push(`${formatCommand(exe, dockerLoginArgs(plan.registry))} < (ECR authorization token)`);
            lines.push(formatCommand(exe, dockerPushArgs(plan)));
          }
          if (g.json) {
            io.out(JSON.stringify({ component, tag: plan.tag, image: plan.image, digest: existing?.imageDigest ?? null, skipped: existing !== undefined, dryRun: true, commands: lines }));
          } else {
            for (const l of lines) io.out(l);
          }
          return;
        }

        // Read-only first: is the tag already there, may we push (ECR token)?
        let existing;
        try {
          existing = await describeImage(aws.ecr, plan.repository, plan.tag);
        } catch (error) {
          // A local build without --push does not need ECR; with --push the error stands.
          if (opts.push) throw error;
          say(`warning: could not check ECR for ${plan.image} (${(error as Error).name}); building anyway`);
        }
        // Re-running a pipeline for the same commit builds nothing.
        if (existing?.imageDigest !== undefined) {
          const record: BuildRecord = { component, tag: plan.tag, image: plan.image, digest: existing.imageDigest, skipped: true };
          say(`${plan.image} already exists in ECR (${existing.imageDigest}); skipping the build`);
          writeRecord(recordFile, record);
          emit(record);
          setResult(ExitCode.Success);
          return;
        }
        const login = opts.push ? await getRegistryLogin(aws.ecr) : undefined;
        // Apply. 1. The repository (created immutable, scan on push, lifecycle policy) — only when pushing.
        if (opts.push) {
          const ensured = await ensureRepository(aws.ecr, {
            repositoryName: plan.repository,
            keepImages: env.ecr.keepImages,
            tags: { ...env.tags, "managed-by": "lgtm-deploy", "lgtm:component": component },
          });
          if (ensured.created) say(`created ECR repository ${plan.repository} (IMMUTABLE, scanOnPush, keeps the last ${env.ecr.keepImages} images)`);
          else if (ensured.repository.imageTagMutability !== "IMMUTABLE") say(`warning: ECR repository ${plan.repository} has mutable tags; released tags could be overwritten`);
        }
        // 3. Build.
        say(`$ ${formatCommand(exe, dockerBuildArgs(plan))}`);
        await docker(dockerBuildArgs(plan), { env: io.env, onLine: (l) => say(l), signal: io.signal });
        if (!opts.push) {
          const record: BuildRecord = { component, tag: plan.tag, image: plan.image, digest: null, skipped: false };
          writeRecord(recordFile, record);
          emit(record);
          return;
        }
        // 4. Log in (token on stdin only, in a throw-away DOCKER_CONFIG) and push.
        const digest = await loginAndPush(plan, exe, io, aws.ecr, login!).catch((error: unknown) => {
          // The local emulator answers the ECR API but serves no registry for docker to push to.
          const ecrUrl = g.endpointUrl ?? io.env.AWS_ENDPOINT_URL_ECR ?? io.env.AWS_ENDPOINT_URL;
          if (error instanceof Error && ecrUrl !== undefined && /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost)(:\d+)?(\/|$)/.test(ecrUrl)) {
            error.message += "; the local emulator has no Docker registry to push to: seed it with images instead (lgtm-deploy emulator --seed)";
          }
          throw error;
        });
        const record: BuildRecord = { component, tag: plan.tag, image: plan.image, digest, skipped: false };
        writeRecord(recordFile, record);
        emit(record);
        setResult(ExitCode.Success);
      } finally {
        aws.destroy();
      }
    });
}

async function loginAndPush(plan: BuildPlan, exe: string, io: Io, ecr: AwsClients["ecr"], login: RegistryLogin): Promise<string> {
  const dockerConfig = mkdtempSync(path.join(tmpdir(), "lgtm-docker-config-"));
  try {
    const extraEnv = { DOCKER_CONFIG: dockerConfig };
    io.err(`$ ${formatCommand(exe, dockerLoginArgs(plan.registry))} < (ECR authorization token)`);
    const loggedIn = await runDocker(dockerLoginArgs(plan.registry), { env: io.env, extraEnv, input: login.password, signal: io.signal });
    if (loggedIn.exitCode !== 0) {
      // Never echo stdin; docker's own message does not contain the password.
      throw new PreconditionError(`ECR authentication failed: docker login to ${plan.registry} exited with code ${loggedIn.exitCode}: ${tail(loggedIn.stderr || loggedIn.stdout, 5)}`);
    }
    io.err(`$ ${formatCommand(exe, dockerPushArgs(plan))}`);
    const pushed = await runDocker(dockerPushArgs(plan), { env: io.env, extraEnv, onLine: (l) => io.err(l), signal: io.signal });
    if (pushed.exitCode !== 0) {
      const output = `${pushed.stdout}\n${pushed.stderr}`;
      if (isImmutableTagConflict(output)) {
        throw new PreconditionError(
          `ECR refused the push: tag ${plan.tag} already exists in the immutable repository ${plan.repository} with different content (another build pushed the same tag). Nothing was overwritten; bump VERSION or build another commit.\n${tail(pushed.stderr || pushed.stdout, 5)}`,
        );
      }
      throw dockerFailure("push", pushed);
    }
    const image = await describeImage(ecr, plan.repository, plan.tag);
    if (image?.imageDigest === undefined) throw new LgtmError(`docker push succeeded but ECR has no image ${plan.image}`, ExitCode.Unexpected);
    const printed = pushedDigest(`${pushed.stdout}\n${pushed.stderr}`);
    if (printed !== undefined && printed !== image.imageDigest) {
      throw new LgtmError(`digest mismatch: docker pushed ${printed} but ECR reports ${image.imageDigest} for ${plan.image}`, ExitCode.Unexpected);
    }
    return image.imageDigest;
  } finally {
    rmSync(dockerConfig, { recursive: true, force: true });
  }
}

function writeRecord(file: string, record: BuildRecord): void {
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}
