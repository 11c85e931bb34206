/** diff by identity: list items matched by name/port/key, so added, removed and changed items are named as themselves. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { Project } from "../src/adapters/files.js";
import { diffValues, formatDiff } from "../src/core/diff.js";
import { renderTaskDefinition } from "../src/core/render.js";
import { makeTag } from "../src/core/tag.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { startRig } from "./helpers/emulator.js";
import { copyProject } from "./helpers/project.js";

const project = new Project(REPO_ROOT);
const env = project.environment("local");
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const rendered = (sha = "a1b2c3d4e5f6") => clone(renderTaskDefinition("tempo", env, { tag: makeTag({ version: "1.0.0", sha }) }, project.templates("tempo").taskDefinition)) as any;

describe("diffValues", () => {
  test("the issue's case: one environment variable removed, another changed", () => {
    const running = rendered();
    const next = clone(running);
    const envs = next.containerDefinitions[0].environment as Array<{ name: string; value: string }>;
    next.containerDefinitions[0].environment = envs.filter((e) => e.name !== "LGTM_VERSION").map((e) => (e.name === "S3_PREFIX" ? { ...e, value: "tempo-v2" } : e));
    assert.deepEqual(formatDiff(diffValues(running, next)), [
      `- containerDefinitions[tempo].environment[LGTM_VERSION]: {"name":"LGTM_VERSION","value":"1.0.0"}`,
      `~ containerDefinitions[tempo].environment[S3_PREFIX].value: "ftt-tempo/" -> "tempo-v2"`,
    ]);
  });

  test("reordered items are no change; port mappings by name, secrets by name, tags by key", () => {
    const running = rendered();
    running.containerDefinitions[0].secrets = [{ name: "A", valueFrom: "arn:aws:ssm:us-east-1:000000000000:parameter/a" }, { name: "B", valueFrom: "arn:aws:ssm:us-east-1:000000000000:parameter/b" }];
    const next = clone(running);
    next.containerDefinitions[0].environment.reverse();
    next.containerDefinitions[0].secrets = [{ ...running.containerDefinitions[0].secrets[1], valueFrom: "arn:aws:ssm:us-east-1:000000000000:parameter/b2" }];
    next.containerDefinitions[0].portMappings.reverse();
    next.containerDefinitions[0].portMappings[0].protocol = "udp";
    next.tags = next.tags.map((t: { key: string; value: string }) => (t.key === "project" ? { ...t, value: "x" } : t)).reverse();
    const portName = next.containerDefinitions[0].portMappings[0].name as string;
    assert.deepEqual(formatDiff(diffValues(running, next)).sort(), [
      `- containerDefinitions[tempo].secrets[A]: {"name":"A","valueFrom":"arn:aws:ssm:us-east-1:000000000000:parameter/a"}`,
      `~ containerDefinitions[tempo].portMappings[${portName}].protocol: "tcp" -> "udp"`,
      `~ containerDefinitions[tempo].secrets[B].valueFrom: "arn:aws:ssm:us-east-1:000000000000:parameter/b" -> "arn:aws:ssm:us-east-1:000000000000:parameter/b2"`,
      `~ tags[project].value: "lgtm" -> "x"`,
    ].sort());
  });

  test("lists without identities (command) are compared whole; a first release adds everything", () => {
    const a = { containerDefinitions: [{ name: "x", command: ["-a", "-b"] }] };
    const b = { containerDefinitions: [{ name: "x", command: ["-b", "-a"] }] };
    assert.deepEqual(formatDiff(diffValues(a, b)), [`~ containerDefinitions[x].command: ["-a","-b"] -> ["-b","-a"]`]);
    const first = diffValues(undefined, rendered());
    assert.ok(first.every((l) => l.op === "add"));
    assert.ok(first.some((l) => l.path === "containerDefinitions"));
  });

  test("random edits of a named list: exactly the removed, added and changed names are reported, with their old values", () => {
    const item = fc.record({ value: fc.string({ maxLength: 5 }) });
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[A-Z_]{1,6}$/), { minLength: 1, maxLength: 10 }), fc.array(item, { minLength: 10, maxLength: 10 }), fc.array(fc.constantFrom("keep", "remove", "change"), { minLength: 10, maxLength: 10 }), fc.uniqueArray(fc.stringMatching(/^[a-z]{1,4}$/), { maxLength: 3 }), fc.boolean(), (names, values, fate, added, shuffle) => {
        const before = names.map((name, i) => ({ name, value: values[i]!.value }));
        let after = before.flatMap((e, i) => (fate[i] === "remove" ? [] : fate[i] === "change" ? [{ ...e, value: `${e.value}!` }] : [e]));
        after = [...after, ...added.map((name) => ({ name, value: "new" }))];
        if (shuffle) after.reverse();
        const lines = diffValues({ environment: before }, { environment: after });
        const expected = [
          ...before.filter((_, i) => fate[i] === "remove").map((e) => ({ op: "remove", path: `environment[${e.name}]`, from: e })),
          ...before.filter((_, i) => fate[i] === "change").map((e) => ({ op: "replace", path: `environment[${e.name}].value`, from: e.value, value: `${e.value}!` })),
          ...added.map((name) => ({ op: "add", path: `environment[${name}]`, value: { name, value: "new" } })),
        ];
        const key = (l: { path: string }) => l.path;
        assert.deepEqual([...lines].sort((a, b) => key(a).localeCompare(key(b))), expected.sort((a, b) => key(a).localeCompare(key(b))));
      }),
      { numRuns: 300 },
    );
  });
});

test("diff through the CLI against the emulator: names the removed and the changed variable; --exit-code exits 6", async () => {
  const sha = "a1b2c3d4e5f6";
  const rig = await startRig(["tempo"], [sha]);
  const p = copyProject();
  try {
    const first = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", sha, "--create-missing"]);
    assert.equal(first.code, 0, first.stderr);
    const same = await rig.cli(["diff", "tempo", "--env", "local", "--sha", sha, "--exit-code"]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    p.edit("taskdefs/tempo.json", (t) => {
      const c = t.containerDefinitions[0];
      c.environment = c.environment.filter((e: { name: string }) => e.name !== "LGTM_NAMESPACE").map((e: { name: string; value: string }) => (e.name === "S3_PREFIX" ? { ...e, value: "tempo-blocks" } : e));
    });
    rig.emu.clearCalls();
    const r = await rig.cli(["diff", "tempo", "--env", "local", "--sha", sha, "--exit-code", "--root", p.root]);
    assert.equal(r.code, 6, r.stdout + r.stderr);
    const lines = r.stdout.split("\n").filter((l) => /^[~+-] /.test(l));
    assert.deepEqual(lines, [`- containerDefinitions[tempo].environment[LGTM_NAMESPACE]: {"name":"LGTM_NAMESPACE","value":"lgtm.local"}`, `~ containerDefinitions[tempo].environment[S3_PREFIX].value: "ftt-tempo/" -> "tempo-blocks"`]);
    assert.deepEqual(rig.mutatingCalls(), []);
  } finally {
    p.cleanup();
    await rig.close();
  }
});
