/**
 * Dockerfile checks: a real linter (dockerfile-utils validate(), zero problems), pinned upstream base images that
 * match dockerfiles/upstream-versions.json, no "latest", no tini/gomplate/shell wrapper, exec-form ENTRYPOINT/CMD,
 * OCI labels from build-args, COPY sources present and allowed by .dockerignore. Negative tests prove each check
 * can fail.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { validate } from "dockerfile-utils";
import { COMPONENT_NAMES, type ComponentName } from "../src/core/catalogue.js";
import { parseVersionFile } from "../src/core/tag.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DOCKERFILES = path.join(ROOT, "dockerfiles");
const UPSTREAM = JSON.parse(readFileSync(path.join(DOCKERFILES, "upstream-versions.json"), "utf8")) as Record<string, string>;

/** The upstream release line each component must stay on (see docs/images.md for why). */
const LINE: Record<ComponentName, RegExp> = {
  mimir: /^grafana\/mimir:3\.\d+\.\d+$/,
  loki: /^grafana\/loki:3\.7\.\d+$/,
  tempo: /^grafana\/tempo:2\.10\.\d+$/,
  pyroscope: /^grafana\/pyroscope:1\.21\.\d+$/,
  grafana: /^grafana\/grafana:13\.\d+\.\d+$/,
  alloy: /^grafana\/alloy:v1\.18\.\d+$/,
};

const OCI_LABELS = ["version", "revision", "source", "created", "base.name"].map((l) => `org.opencontainers.image.${l}`);

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Joins continuation lines, drops comments and blank lines. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = "";
  let start = 0;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (buffer === "" && (line === "" || line.startsWith("#"))) continue;
    if (buffer === "") start = i + 1;
    if (line.endsWith("\\")) {
      buffer += `${line.slice(0, -1)} `;
      continue;
    }
    buffer += line;
    const m = /^(\S+)\s*(.*)$/s.exec(buffer)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buffer = "";
  }
  return out;
}

/** .dockerignore semantics good enough for an allow-list: last matching pattern wins. */
function ignored(patterns: string[], file: string): boolean {
  let result = false;
  for (const p of patterns) {
    const negate = p.startsWith("!");
    const pat = negate ? p.slice(1) : p;
    const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\u0000/g, ".*")}(/.*)?$`);
    if (re.test(file)) result = !negate;
  }
  return result;
}

export function checkDockerfile(component: ComponentName, text: string, dir: string, upstream: string | undefined): string[] {
  const problems: string[] = [];
  for (const d of validate(text)) problems.push(`line ${d.range.start.line + 1}: ${d.message} (dockerfile-utils)`);
  const ins = instructions(text);
  if (/\blatest\b/i.test(text.replace(/^#.*$/gm, ""))) problems.push('"latest" appears in the Dockerfile');
  if (/\b(tini|gomplate|dumb-init|su-exec|gosu)\b/i.test(text.replace(/^#.*$/gm, ""))) problems.push("no init wrapper or templating tool: the binary is PID 1 and expands ${VAR} itself");
  // Base image: ARG BASE_IMAGE=<pinned> before a single FROM ${BASE_IMAGE}.
  const froms = ins.filter((i) => i.keyword === "FROM");
  if (froms.length !== 1) problems.push(`expected exactly one FROM, found ${froms.length}`);
  const globalArg = ins.find((i) => i.keyword === "ARG" && i.args.startsWith("BASE_IMAGE=") && i.line < (froms[0]?.line ?? 0));
  const base = globalArg?.args.slice("BASE_IMAGE=".length).replace(/^"|"$/g, "");
  if (froms[0] && froms[0].args !== "${BASE_IMAGE}") problems.push(`FROM must be \${BASE_IMAGE} (got ${froms[0].args})`);
  if (base === undefined) problems.push("ARG BASE_IMAGE=<upstream image> with a pinned default is required before FROM");
  else {
    if (!/^[\w./-]+:[\w][\w.-]*(@sha256:[0-9a-f]{64})?$/.test(base) && !/^[\w./-]+@sha256:[0-9a-f]{64}$/.test(base)) problems.push(`BASE_IMAGE default "${base}" is not pinned to a tag or digest`);
    if (!LINE[component].test(base.replace(/@sha256:.*$/, ""))) problems.push(`BASE_IMAGE default "${base}" is not on the ${LINE[component].source} line`);
    if (upstream !== base) problems.push(`BASE_IMAGE default "${base}" differs from dockerfiles/upstream-versions.json ("${String(upstream)}")`);
  }
  // Exec form for ENTRYPOINT / CMD.
  const entry = ins.filter((i) => i.keyword === "ENTRYPOINT");
  const cmd = ins.filter((i) => i.keyword === "CMD");
  if (entry.length !== 1) problems.push("exactly one ENTRYPOINT is required (the upstream binary)");
  for (const i of [...entry, ...cmd]) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(i.args);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) problems.push(`line ${i.line}: ${i.keyword} must be exec form (a JSON array), not shell form`);
    else if (i.keyword === "ENTRYPOINT" && /^\/bin\/(ba)?sh$/.test(parsed[0] as string)) problems.push(`line ${i.line}: ENTRYPOINT must be the binary, not a shell`);
  }
  if (ins.some((i) => i.keyword === "RUN")) problems.push("no RUN: the upstream images have no shell (distroless); only COPY the config");
  if (ins.some((i) => i.keyword === "SHELL")) problems.push("no SHELL instruction");
  // OCI labels from build-args.
  const labels = ins.filter((i) => i.keyword === "LABEL").map((i) => i.args).join(" ");
  for (const l of OCI_LABELS) if (!new RegExp(`${l.replace(/\./g, "\\.")}="\\$\\{[A-Z_]+\\}"`).test(labels)) problems.push(`label ${l} must be set from a build-arg`);
  for (const a of ["BASE_IMAGE", "VERSION", "REVISION", "SOURCE", "CREATED"]) {
    if (!ins.some((i) => i.keyword === "ARG" && i.line > (froms[0]?.line ?? 0) && (i.args === a || i.args.startsWith(`${a}=`)))) problems.push(`ARG ${a} must be declared after FROM (labels need it in the stage)`);
  }
  // COPY sources exist, are allowed by .dockerignore, and every config file is baked.
  const ignoreFile = path.join(dir, ".dockerignore");
  const patterns = existsSync(ignoreFile) ? readFileSync(ignoreFile, "utf8").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#")) : [];
  const copied: string[] = [];
  for (const c of ins.filter((i) => i.keyword === "COPY" || i.keyword === "ADD")) {
    if (c.keyword === "ADD") problems.push(`line ${c.line}: use COPY, not ADD`);
    const parts = c.args.split(/\s+/).filter((p) => !p.startsWith("--"));
    for (const src of parts.slice(0, -1)) {
      copied.push(src);
      if (!existsSync(path.join(dir, src))) problems.push(`line ${c.line}: COPY source ${src} does not exist in dockerfiles/${component}/`);
      if (ignored(patterns, src)) problems.push(`line ${c.line}: COPY source ${src} is excluded by .dockerignore`);
    }
  }
  const walk = (d: string, rel = ""): string[] =>
    readdirSync(d).flatMap((f) => (statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f), `${rel}${f}/`) : [`${rel}${f}`]));
  for (const f of existsSync(dir) ? walk(dir) : []) {
    if (/\.(ya?ml|alloy|ini|json)$/.test(f) && !copied.includes(f)) problems.push(`${f} is in dockerfiles/${component}/ but not copied into the image`);
  }
  if (!ignored(patterns, "Jenkinsfile") || !ignored(patterns, "VERSION")) problems.push(".dockerignore must keep Jenkinsfile and VERSION out of the build context");
  return problems;
}

describe("Dockerfiles", () => {
  for (const component of COMPONENT_NAMES) {
    const dir = path.join(DOCKERFILES, component);
    it(`${component}: lint-clean, pinned, exec form, labelled, configs copied`, () => {
      const text = readFileSync(path.join(dir, "Dockerfile"), "utf8");
      assert.deepEqual(checkDockerfile(component, text, dir, UPSTREAM[component]), []);
      parseVersionFile(readFileSync(path.join(dir, "VERSION"), "utf8"), `dockerfiles/${component}/VERSION`);
    });
  }

  it("upstream-versions.json lists exactly the six components, each pinned on its release line", () => {
    const entries = Object.entries(UPSTREAM).filter(([k]) => !k.startsWith("$"));
    assert.deepEqual(entries.map(([k]) => k).sort(), [...COMPONENT_NAMES].sort());
    for (const [c, image] of entries) assert.match(image, LINE[c as ComponentName]);
  });

  it("backends get -config.expand-env=true and the baked config file; alloy gets a reachable HTTP server", () => {
    const cmdOf = (c: ComponentName): string[] => {
      const cmd = instructions(readFileSync(path.join(DOCKERFILES, c, "Dockerfile"), "utf8")).find((i) => i.keyword === "CMD");
      return cmd ? (JSON.parse(cmd.args) as string[]) : [];
    };
    const files: Partial<Record<ComponentName, string>> = { mimir: "/etc/mimir/mimir.yaml", loki: "/etc/loki/config.yaml", tempo: "/etc/tempo/tempo.yaml", pyroscope: "/etc/pyroscope/config.yaml" };
    for (const [c, file] of Object.entries(files)) {
      assert.deepEqual(cmdOf(c as ComponentName), [`-config.file=${file}`, "-config.expand-env=true"], c);
    }
    assert.ok(cmdOf("alloy").includes("--server.http.listen-addr=0.0.0.0:12345"));
    assert.equal(cmdOf("alloy")[1], "/etc/alloy/config.alloy");
  });
});

describe("Dockerfile checks catch mistakes (negative tests)", () => {
  const component: ComponentName = "mimir";
  const dir = path.join(DOCKERFILES, component);
  const original = readFileSync(path.join(dir, "Dockerfile"), "utf8");
  const problemsFor = (from: string | RegExp, to: string, upstream = UPSTREAM[component]): string[] => {
    const text = original.replace(from, to);
    assert.notEqual(text, original, "mutation did not apply");
    return checkDockerfile(component, text, dir, upstream);
  };
  const expectProblem = (problems: string[], pattern: RegExp) =>
    assert.ok(problems.some((p) => pattern.test(p)), `expected a problem matching ${pattern}, got:\n${problems.join("\n")}`);

  it("the linter's findings are reported (duplicate CMD, JSON in single quotes)", () => {
    expectProblem(problemsFor('CMD ["-config.file', 'CMD ["-x"]\nCMD ["-config.file'), /only be one CMD.*dockerfile-utils/);
    expectProblem(problemsFor('ENTRYPOINT ["/bin/mimir"]', "ENTRYPOINT ['/bin/mimir']"), /single quotes/);
  });

  it("latest, an unpinned base and a version that differs from upstream-versions.json are caught", () => {
    expectProblem(problemsFor("ARG BASE_IMAGE=grafana/mimir:3.1.1", "ARG BASE_IMAGE=grafana/mimir:latest"), /"latest" appears/);
    expectProblem(problemsFor("ARG BASE_IMAGE=grafana/mimir:3.1.1", "ARG BASE_IMAGE=grafana/mimir"), /not pinned/);
    expectProblem(problemsFor("ARG BASE_IMAGE=grafana/mimir:3.1.1", "ARG BASE_IMAGE=grafana/mimir:2.17.0"), /not on the .* line/);
    expectProblem(checkDockerfile(component, original, dir, "grafana/mimir:3.1.2"), /differs from dockerfiles\/upstream-versions\.json/);
    expectProblem(problemsFor("FROM ${BASE_IMAGE}", "FROM grafana/mimir:3.1.1"), /FROM must be \$\{BASE_IMAGE\}/);
  });

  it("shell form, a shell entrypoint, tini and RUN are caught", () => {
    expectProblem(problemsFor(/CMD \[.*\]/, "CMD -config.file=/etc/mimir/mimir.yaml"), /CMD must be exec form/);
    expectProblem(problemsFor('ENTRYPOINT ["/bin/mimir"]', 'ENTRYPOINT ["/bin/sh", "-c", "exec /bin/mimir"]'), /not a shell/);
    expectProblem(problemsFor('ENTRYPOINT ["/bin/mimir"]', 'ENTRYPOINT ["/sbin/tini", "--", "/bin/mimir"]'), /no init wrapper/);
    expectProblem(problemsFor("COPY mimir.yaml", "RUN true\nCOPY mimir.yaml"), /no RUN/);
  });

  it("a missing OCI label, a missing COPY source and an un-copied config are caught", () => {
    expectProblem(problemsFor(/ \\\n\s+org\.opencontainers\.image\.created="\$\{CREATED\}"/, ""), /label org\.opencontainers\.image\.created/);
    expectProblem(problemsFor("COPY mimir.yaml", "COPY mimir.yml"), /COPY source mimir\.yml does not exist/);
    expectProblem(problemsFor("COPY mimir.yaml /etc/mimir/mimir.yaml\n", ""), /mimir\.yaml is in dockerfiles\/mimir\/ but not copied/);
  });
});
