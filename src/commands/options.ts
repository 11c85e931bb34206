/** Option parsing shared by several commands: image tags, durations, integers. */
import { InvalidArgumentError, Option, type Command } from "commander";
import type { ComponentName } from "../core/catalogue.js";
import { InvalidInputError } from "../core/errors.js";
import { makeTag, normalizeSha, parseTag, type ParsedTag } from "../core/tag.js";
import { headSha } from "../adapters/git.js";
import type { Project } from "../adapters/files.js";

export interface TagOptions {
  tag?: string;
  sha?: string;
  branch?: string;
  build?: number;
}

/**
 * The flags that choose an image: --tag (when a released tag may be named directly) or --sha/--branch/--build,
 * from which the tag is derived with the component's VERSION. Without --tag, --sha defaults to git HEAD.
 */
export function addTagOptions(cmd: Command, { allowTag }: { allowTag: boolean }): Command {
  if (allowTag) cmd.option("--tag <tag>", "image tag (semver+SHA)");
  return cmd
    .option("--sha <sha>", allowTag ? "commit SHA (7-40 hex); the tag is derived from the component's VERSION" : "commit SHA (7-40 hex); default: git HEAD of --root")
    .option("--branch <name>", "branch the build comes from; non-release branches get a pre-release version")
    .addOption(new Option("--build <n>", "CI build number, makes branch builds unique").argParser(parseNonNegativeInt("--build")));
}

/** --tag as given, or the tag derived from --sha (or git HEAD when allowed) and the component's VERSION. */
export async function resolveTag(
  project: Project,
  component: ComponentName,
  opts: TagOptions,
  { releaseBranch = "main", shaFromGit = false }: { releaseBranch?: string; shaFromGit?: boolean } = {},
): Promise<ParsedTag> {
  if (opts.tag !== undefined && opts.sha !== undefined) throw new InvalidInputError("give --tag or --sha, not both");
  // An empty Jenkins parameter must not quietly become a release (or a branch called "branch").
  if (opts.branch !== undefined && opts.branch.trim() === "") throw new InvalidInputError("--branch is empty: leave it out for the release branch, or give the branch name");
  if (releaseBranch.trim() === "") throw new InvalidInputError("--release-branch is empty: give the release branch name (default main)");
  if (opts.tag !== undefined) {
    if (opts.tag === "latest") throw new InvalidInputError('--tag "latest" is not allowed: releases use the semver+SHA tag');
    return parseTag(opts.tag);
  }
  let sha = opts.sha === undefined ? undefined : normalizeSha(opts.sha);
  if (sha === undefined) {
    if (!shaFromGit) throw new InvalidInputError("give --tag <tag> or --sha <commit>");
    sha = await headSha(project.root);
  }
  return makeTag({ version: project.version(component), sha, branch: opts.branch, releaseBranch, build: opts.build });
}

/** A whole number 0..max (max defaults to the largest safe integer); "-1", "1.5", "3x", "" are refused naming the flag. */
export function parseNonNegativeInt(flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n > max) throw new InvalidArgumentError(`${flag} must be at most ${max}, got ${value}`);
    return n;
  };
}

/** Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer delay would fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * "90s", "20m", "1h30m", "250ms" → milliseconds, at most MAX_TIMER_MS (a longer one would overflow Node's timers).
 * `min` (default 0) rejects too-short values naming the flag.
 */
export function parseDuration(flag: string, { min = 0 }: { min?: number } = {}) {
  return (value: string): number => {
    const m = DURATION.exec(value);
    if (value === "" || m === null || m.slice(1).every((g) => g === undefined)) {
      throw new InvalidArgumentError(`${flag} must be a duration such as 90s, 20m or 1h30m, got ${JSON.stringify(value)}`);
    }
    const [h, minutes, s, ms] = m.slice(1).map((g) => Number(g ?? 0)) as [number, number, number, number];
    const total = ((h * 60 + minutes) * 60 + s) * 1000 + ms;
    if (!Number.isSafeInteger(total) || total > MAX_TIMER_MS) throw new InvalidArgumentError(`${flag} ${value} is too long: at most 24 days (${MAX_TIMER_MS} ms)`);
    if (total < min) throw new InvalidArgumentError(`${flag} must be at least ${min} ms, got ${value}`);
    return total;
  };
}
