import { test } from "node:test";
import assert from "node:assert/strict";
import { execa } from "execa";
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import semver from "semver";
import { OCI_TAG, branchSlug, makeTag, parseTag } from "../src/core/tag.js";

/** SemVer precedence of two tags (build metadata, i.e. the SHA, does not count). */
const compareTags = (a: string, b: string): number => semver.compare(parseTag(a).semver, parseTag(b).semver);
import { runCli } from "./helpers/cli.js";

// Deterministic pseudo-random SHAs (no Math.random: failures must be reproducible).
function* shas(count: number, seed = 7): Generator<string> {
  let x = seed;
  for (let i = 0; i < count; i++) {
    let s = "";
    for (let j = 0; j < 40; j++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      s += (x >> 16).toString(16).slice(-1);
    }
    yield s.slice(0, 7 + (i % 34));
  }
}

const ALL_DIGIT_SHAS = ["0123456", "0000000", "1234567", "0999999999", "0000000000000000000000000000000000000000"];

test("release tag: <version>_g<sha>, valid OCI tag, valid SemVer, parses back", () => {
  const t = makeTag({ version: "1.4.2", sha: "0123456abcde" });
  assert.equal(t.tag, "1.4.2_g0123456abcde");
  assert.equal(t.version, "1.4.2");
  assert.equal(t.semver, "1.4.2+g0123456abcde");
  assert.deepEqual(parseTag(t.tag), { version: "1.4.2", semver: "1.4.2+g0123456abcde", sha: "0123456abcde", tag: t.tag });
});

test("invariants hold for every SHA, including all-digit SHAs with a leading zero", () => {
  const inputs = [...ALL_DIGIT_SHAS, ...shas(300)];
  const seen = new Map<string, string>();
  for (const sha of inputs) {
    for (const branch of [undefined, "feature/x", "0123", "release/2.0"]) {
      for (const build of [undefined, 0, 17]) {
        const t = makeTag({ version: "2.0.10", sha, branch, build });
        assert.match(t.tag, OCI_TAG, t.tag);
        assert.ok(t.tag.length <= 128);
        assert.ok(semver.valid(t.semver), `not SemVer: ${t.semver}`);
        assert.ok(semver.valid(t.version), `version part not SemVer: ${t.version}`);
        assert.ok(t.tag.includes(sha.toLowerCase()), "tag contains the SHA");
        assert.ok(t.tag.startsWith("2.0.10"), "tag contains the semver");
        // deterministic
        assert.deepEqual(makeTag({ version: "2.0.10", sha, branch, build }), t);
        // round trip
        const back = parseTag(t.tag);
        assert.equal(back.sha, sha.toLowerCase());
        assert.equal(back.version, t.version);
        assert.equal(back.branch, t.branch);
        assert.equal(back.build, t.build);
        const key = `${branch}|${build}`;
        const prev = seen.get(`${key}|${t.tag}`);
        assert.equal(prev, undefined, `collision: ${sha} and ${prev} give ${t.tag}`);
        seen.set(`${key}|${t.tag}`, sha);
      }
    }
  }
});

test("all-digit SHA with a leading zero is not a bare numeric pre-release identifier", () => {
  const t = makeTag({ version: "1.0.0", sha: "0123456", branch: "dev", build: 3 });
  assert.equal(t.tag, "1.0.0-dev.3_g0123456");
  assert.ok(semver.valid(t.semver));
  // what a naive grammar would have produced is invalid:
  assert.equal(semver.valid("1.0.0-dev.3.0123456"), null);
});

test("branch builds sort below the release of the same VERSION; build numbers order and make them unique", () => {
  const release = makeTag({ version: "1.4.2", sha: "abcdef1" }).tag;
  const b1 = makeTag({ version: "1.4.2", sha: "abcdef1", branch: "feature/login", build: 9 }).tag;
  const b2 = makeTag({ version: "1.4.2", sha: "abcdef1", branch: "feature/login", build: 10 }).tag;
  assert.equal(compareTags(b1, release), -1);
  assert.equal(compareTags(b2, release), -1);
  assert.equal(compareTags(b1, b2), -1, "build 9 < build 10 numerically");
  assert.notEqual(b1, b2);
  assert.equal(compareTags(release, makeTag({ version: "1.4.3", sha: "abcdef1", branch: "x" }).tag), -1);
});

test("custom release branch, and branch names are slugged", () => {
  assert.equal(makeTag({ version: "1.0.0", sha: "abcdef1", branch: "master", releaseBranch: "master" }).tag, "1.0.0_gabcdef1");
  assert.equal(branchSlug("Feature/JIRA-12_add.things"), "feature-jira-12-add-things");
  assert.equal(branchSlug("0123"), "b0123");
  assert.equal(branchSlug("///"), "branch");
  assert.ok(branchSlug("x".repeat(200)).length <= 40);
});

test("bad input: invalid SHA, invalid VERSION, foreign tags", () => {
  assert.throws(() => makeTag({ version: "1.0.0", sha: "xyz1234" }), /invalid --sha "xyz1234"/);
  assert.throws(() => makeTag({ version: "1.0.0", sha: "abc" }), /7 to 40/);
  assert.throws(() => makeTag({ version: "1.0", sha: "abcdef1" }), /not a release version/);
  assert.throws(() => makeTag({ version: "1.0.0-rc.1", sha: "abcdef1" }), /not a release version/);
  for (const bad of ["latest", "1.0.0", "1.0.0_gzzzzzzz", "1.0.0_g123", "v1.0.0_gabcdef1", "1.0.0-a.b.c_gabcdef1", "1.0.0_gabcdef1_x"]) {
    assert.throws(() => parseTag(bad), /not an lgtm-deploy image tag/, bad);
  }
});

test("CLI: tag --json from a real git repository, --branch/--build, version bump", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lgtm-tag-"));
  try {
    mkdirSync(path.join(dir, "dockerfiles", "loki"), { recursive: true });
    writeFileSync(path.join(dir, "dockerfiles", "loki", "VERSION"), "3.1.0\n");
    await execa("git", ["init", "-q", "-b", "main"], { cwd: dir });
    await execa("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"], { cwd: dir });
    const head = (await execa("git", ["rev-parse", "--short=12", "HEAD"], { cwd: dir })).stdout;
    let r = await runCli(["tag", "loki", "--json", "--root", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { component: "loki", version: "3.1.0", sha: head, tag: `3.1.0_g${head}` });
    r = await runCli(["tag", "loki", "--root", dir, "--sha", "0123456", "--branch", "feature/a", "--build", "42"]);
    assert.equal(r.stdout.trim(), "3.1.0-feature-a.42_g0123456");
    r = await runCli(["version", "bump", "loki", "minor", "--root", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(path.join(dir, "dockerfiles", "loki", "VERSION"), "utf8"), "3.2.0\n");
    r = await runCli(["version", "bump", "loki", "huge", "--root", dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid bump "huge"/);
    writeFileSync(path.join(dir, "dockerfiles", "loki", "VERSION"), "three\n");
    r = await runCli(["tag", "loki", "--root", dir, "--sha", "abcdef1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /dockerfiles\/loki\/VERSION: "three" is not a release version/);
    rmSync(path.join(dir, "dockerfiles", "loki", "VERSION"));
    r = await runCli(["tag", "loki", "--root", dir, "--sha", "abcdef1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /VERSION file not found: .*dockerfiles\/loki\/VERSION/);
    r = await runCli(["tag", "lokii", "--root", dir, "--sha", "abcdef1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown component "lokii"/);
    r = await runCli(["tag", "loki", "--root", dir, "--sha", "not-a-sha"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --sha "not-a-sha"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
