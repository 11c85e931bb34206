/**
 * Image tags: a SemVer 2.0.0 version whose build metadata carries the commit SHA, written with "_" in place of "+"
 * because "+" is not allowed in an OCI tag.
 *
 *   release branch:  <MAJOR.MINOR.PATCH>_g<sha>                    1.4.2_g0123456abcde
 *   other branches:  <MAJOR.MINOR.PATCH>-<branch>[.<build>]_g<sha>  1.4.2-feature-x.17_g0123456abcde
 *
 * The "g" keeps the SHA an alphanumeric identifier (an all-digit SHA such as 0123456 is not a valid SemVer
 * pre-release identifier). The branch lives in the pre-release part, so a branch build sorts below the release of
 * the same VERSION; the build number makes branch builds unique per CI build.
 */
import semver from "semver";
import { InvalidInputError } from "./errors.js";

export const SHA = /^[0-9a-f]{7,40}$/;
/** OCI distribution spec tag grammar. */
export const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const MAX_BRANCH_SLUG = 40;

export interface TagInput {
  /** Contents of dockerfiles/<component>/VERSION: MAJOR.MINOR.PATCH. */
  version: string;
  sha: string;
  branch?: string;
  releaseBranch?: string;
  build?: number;
}

export interface ParsedTag {
  /** The SemVer without build metadata: what users call "the version" (e.g. for rollback --to 1.4.2). */
  version: string;
  /** The full SemVer including build metadata (+g<sha>). */
  semver: string;
  sha: string;
  /** Branch slug for pre-release builds; undefined for releases. */
  branch?: string;
  build?: number;
  tag: string;
}

export function normalizeSha(sha: string): string {
  const s = sha.trim().toLowerCase();
  if (!SHA.test(s)) throw new InvalidInputError(`invalid --sha "${sha}": expected 7 to 40 hexadecimal characters`);
  return s;
}

/** A VERSION file's content must be a plain release version, MAJOR.MINOR.PATCH. */
export function parseVersionFile(text: string, file: string): string {
  const v = text.trim();
  if (v === "") throw new InvalidInputError(`${file}: empty; expected a version such as 1.0.0`);
  const parsed = semver.parse(v);
  if (parsed === null || parsed.prerelease.length > 0 || parsed.build.length > 0 || parsed.version !== v) {
    throw new InvalidInputError(`${file}: "${v}" is not a release version MAJOR.MINOR.PATCH (e.g. 1.4.2)`);
  }
  return v;
}

/** Branch name → a SemVer pre-release identifier: [0-9a-z-], never purely numeric, bounded length. */
export function branchSlug(branch: string): string {
  let slug = branch
    .toLowerCase()
    .replace(/^refs\/heads\//, "")
    .replace(/[^0-9a-z-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, MAX_BRANCH_SLUG)
    .replace(/-+$/, "");
  if (slug === "") slug = "branch";
  if (/^\d+$/.test(slug)) slug = `b${slug}`;
  return slug;
}

export function makeTag(input: TagInput): ParsedTag {
  const version = parseVersionFile(input.version, "VERSION");
  const sha = normalizeSha(input.sha);
  const releaseBranch = input.releaseBranch ?? "main";
  const branch = input.branch ?? releaseBranch;
  if (input.build !== undefined && (!Number.isSafeInteger(input.build) || input.build < 0)) {
    throw new InvalidInputError(`invalid --build "${input.build}": expected a non-negative integer`);
  }
  const isRelease = branch === releaseBranch;
  const pre = isRelease ? [] : [branchSlug(branch), ...(input.build === undefined ? [] : [String(input.build)])];
  const core = pre.length === 0 ? version : `${version}-${pre.join(".")}`;
  const full = `${core}+g${sha}`;
  const tag = full.replace("+", "_");
  // Invariants, checked on every call: cheap, and a violation is a bug worth failing loudly on.
  if (semver.valid(full) === null || !OCI_TAG.test(tag)) throw new Error(`internal: generated an invalid tag ${tag}`);
  return {
    version: core,
    semver: full,
    sha,
    tag,
    ...(isRelease ? {} : { branch: pre[0] }),
    ...(isRelease || input.build === undefined ? {} : { build: input.build }),
  };
}

/** Parses a tag made by makeTag; throws InvalidInputError for anything else. */
export function parseTag(tag: string): ParsedTag {
  const bad = (why: string) => new InvalidInputError(`"${tag}" is not an lgtm-deploy image tag (${why}); expected <version>[-<branch>[.<build>]]_g<sha>`);
  if (!OCI_TAG.test(tag)) throw bad("not a valid OCI tag");
  if (!/^\d/.test(tag)) throw bad("must start with the version number");
  const parts = tag.split("_");
  if (parts.length !== 2) throw bad('exactly one "_" separates the version from the SHA');
  const full = `${parts[0]}+${parts[1]}`;
  const parsed = semver.parse(full);
  if (parsed === null) throw bad("not SemVer");
  const [meta, ...rest] = parsed.build;
  if (rest.length > 0 || meta === undefined || !/^g[0-9a-f]{7,40}$/.test(meta)) throw bad("build metadata must be g<sha>");
  const pre = parsed.prerelease.map(String);
  if (pre.length > 2 || (pre.length === 2 && !/^\d+$/.test(pre[1]!)) || (pre[0] !== undefined && /^\d+$/.test(pre[0]))) {
    throw bad("pre-release must be <branch>[.<build>]");
  }
  const core = pre.length === 0 ? parsed.version : `${parsed.major}.${parsed.minor}.${parsed.patch}-${pre.join(".")}`;
  return {
    version: core,
    semver: full,
    sha: meta.slice(1),
    tag,
    ...(pre[0] === undefined ? {} : { branch: pre[0] }),
    ...(pre[1] === undefined ? {} : { build: Number(pre[1]) }),
  };
}

export function bumpVersion(version: string, part: "major" | "minor" | "patch"): string {
  const next = semver.inc(version, part);
  if (next === null) throw new InvalidInputError(`cannot bump "${version}"`);
  return next;
}
