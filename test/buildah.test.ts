/**
 * Builds every Dockerfile for real with buildah (chroot isolation, vfs storage in a temp dir) on a locally made
 * stand-in of the upstream base image, then checks the final image: COPY paths and contents, ENTRYPOINT/CMD, the
 * inherited USER, and the OCI labels from the build-args. Skips only when buildah is absent or cannot run here.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { COMPONENT_NAMES, type ComponentName } from "../src/core/catalogue.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const UPSTREAM = JSON.parse(readFileSync(path.join(ROOT, "dockerfiles", "upstream-versions.json"), "utf8")) as Record<ComponentName, string>;
const BUILDAH = process.env.BUILDAH ?? "/usr/bin/buildah";

/** What the upstream image provides that the derived image relies on (entrypoint binary, user). */
const BASE: Record<ComponentName, { binary: string; user: string; entrypoint: string[] }> = {
  mimir: { binary: "/bin/mimir", user: "0", entrypoint: ["/bin/mimir"] },
  loki: { binary: "/usr/bin/loki", user: "10001", entrypoint: ["/usr/bin/loki"] },
  tempo: { binary: "/tempo", user: "10001:10001", entrypoint: ["/tempo"] },
  pyroscope: { binary: "/usr/bin/pyroscope", user: "10001", entrypoint: ["/usr/bin/pyroscope"] },
  grafana: { binary: "/run.sh", user: "472", entrypoint: ["/run.sh"] },
  alloy: { binary: "/bin/alloy", user: "0", entrypoint: ["/bin/alloy"] },
};

/** Where each baked file must land. */
const BAKED: Record<ComponentName, Record<string, string>> = {
  mimir: { "mimir.yaml": "/etc/mimir/mimir.yaml" },
  loki: { "config.yaml": "/etc/loki/config.yaml" },
  tempo: { "tempo.yaml": "/etc/tempo/tempo.yaml" },
  pyroscope: { "config.yaml": "/etc/pyroscope/config.yaml" },
  grafana: { "grafana.ini": "/etc/grafana/grafana.ini", "provisioning/datasources/lgtm.yaml": "/etc/grafana/provisioning/datasources/lgtm.yaml" },
  alloy: { "config.alloy": "/etc/alloy/config.alloy" },
};

const CMD: Record<ComponentName, string[] | null> = {
  mimir: ["-config.file=/etc/mimir/mimir.yaml", "-config.expand-env=true"],
  loki: ["-config.file=/etc/loki/config.yaml", "-config.expand-env=true"],
  tempo: ["-config.file=/etc/tempo/tempo.yaml", "-config.expand-env=true"],
  pyroscope: ["-config.file=/etc/pyroscope/config.yaml", "-config.expand-env=true"],
  grafana: null, // inherited from the base (none in the stand-in)
  alloy: ["run", "/etc/alloy/config.alloy", "--storage.path=/var/lib/alloy/data", "--server.http.listen-addr=0.0.0.0:12345"],
};

let dir = "";
let skipReason: string | undefined;
const storage = () => ["--root", path.join(dir, "root"), "--runroot", path.join(dir, "run"), "--storage-driver", "vfs"];
const buildah = (args: string[]) => execa(BUILDAH, [...storage(), ...args], { reject: false, env: { ...process.env, BUILDAH_ISOLATION: "chroot" } });
async function ok(args: string[]): Promise<string> {
  const r = await buildah(args);
  assert.equal(r.exitCode, 0, `buildah ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

before(async () => {
  if (!existsSync(BUILDAH)) {
    skipReason = `buildah not installed (${BUILDAH})`;
    return;
  }
  dir = mkdtempSync(path.join(tmpdir(), "lgtm-buildah-"));
  const probe = await buildah(["from", "--name", "probe", "scratch"]);
  if (probe.exitCode !== 0) {
    skipReason = `buildah cannot run here: ${probe.stderr.trim().split("\n").at(-1)}`;
    return;
  }
  await buildah(["rm", "probe"]);
  // A stand-in for each upstream image, committed under the upstream name so FROM ${BASE_IMAGE} resolves locally.
  for (const c of COMPONENT_NAMES) {
    const files = path.join(dir, "base", c);
    mkdirSync(path.join(files, path.dirname(BASE[c].binary)), { recursive: true });
    writeFileSync(path.join(files, BASE[c].binary), `stand-in for ${UPSTREAM[c]}\n`, { mode: 0o755 });
    const ctr = await ok(["from", "--name", `base-${c}`, "scratch"]);
    await ok(["copy", ctr, `${files}/`, "/"]);
    await ok(["config", "--entrypoint", JSON.stringify(BASE[c].entrypoint), "--user", BASE[c].user, "--workingdir", "/", ctr]);
    await ok(["commit", "--quiet", "--rm", ctr, UPSTREAM[c]]);
  }
});

after(async () => {
  if (dir === "") return;
  if (!skipReason) await buildah(["rm", "--all"]);
  await execa("umount", ["-R", path.join(dir, "root")], { reject: false });
  rmSync(dir, { recursive: true, force: true });
});

describe("buildah: every Dockerfile builds on its pinned base and produces the expected image", () => {
  for (const c of COMPONENT_NAMES) {
    it(c, async (t) => {
      if (skipReason) {
        t.skip(skipReason);
        return;
      }
      const image = `localhost/lgtm-${c}:test`;
      const args = { VERSION: "1.0.0+g0123456", REVISION: "0123456", SOURCE: "https://git.example.com/lgtm-deploy.git", CREATED: "2026-01-01T00:00:00Z", BASE_IMAGE: UPSTREAM[c] };
      await ok([
        "bud",
        "--isolation",
        "chroot",
        "--pull-never",
        "--quiet",
        ...Object.entries(args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
        "-t",
        image,
        "-f",
        path.join(ROOT, "dockerfiles", c, "Dockerfile"),
        path.join(ROOT, "dockerfiles", c),
      ]);
      const info = JSON.parse(await ok(["inspect", "--type", "image", image])) as { OCIv1: { config: { User?: string; Entrypoint?: string[]; Cmd?: string[] | null; Labels?: Record<string, string> } } };
      const config = info.OCIv1.config;
      assert.deepEqual(config.Entrypoint, BASE[c].entrypoint, "exec-form entrypoint: the upstream binary");
      if (CMD[c] === null) assert.ok(config.Cmd === undefined || config.Cmd === null || config.Cmd.length === 0);
      else assert.deepEqual(config.Cmd, CMD[c]);
      assert.equal(config.User, BASE[c].user, "the upstream user is kept");
      const labels = config.Labels ?? {};
      assert.equal(labels["org.opencontainers.image.version"], args.VERSION);
      assert.equal(labels["org.opencontainers.image.revision"], args.REVISION);
      assert.equal(labels["org.opencontainers.image.source"], args.SOURCE);
      assert.equal(labels["org.opencontainers.image.created"], args.CREATED);
      assert.equal(labels["org.opencontainers.image.base.name"], UPSTREAM[c]);
      // The files inside the image.
      const ctr = await ok(["from", "--pull-never", "--name", `check-${c}`, image]);
      try {
        const mnt = await ok(["mount", ctr]);
        for (const [src, dst] of Object.entries(BAKED[c])) {
          assert.equal(readFileSync(path.join(mnt, dst), "utf8"), readFileSync(path.join(ROOT, "dockerfiles", c, src), "utf8"), `${dst} is the baked ${src}`);
        }
        for (const absent of ["/Jenkinsfile", "/VERSION", "/Dockerfile", "/sbin/tini", "/bin/sh"]) assert.equal(existsSync(path.join(mnt, absent)), false, `${absent} must not be in the image`);
        assert.ok(existsSync(path.join(mnt, BASE[c].binary)), "the base image's binary is still there");
        await ok(["umount", ctr]);
      } finally {
        await buildah(["rm", ctr]);
      }
    });
  }
});
