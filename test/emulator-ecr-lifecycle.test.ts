// ECR lifecycle expiry on demand (expireImage, applyLifecyclePolicy), over HTTP with the real SDK v3 clients.
// docs/emulator.md, "Actions".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CreateRepositoryCommand, DescribeImagesCommand, GetLifecyclePolicyCommand, PutImageCommand, PutLifecyclePolicyCommand, type ECRClient } from "@aws-sdk/client-ecr";
import { UpdateServiceCommand } from "@aws-sdk/client-ecs";
import type { Emulator } from "../src/emulator/index.js";
import { allTasks, createService, ecrClient, ecsClient, emulator, registerTd, waitFor, waitSteady } from "./fixtures/emulator/helpers.js";

const manifest = (n: number): string => JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [{ size: n }], annotations: { n: String(n) } });

async function push(ecr: ECRClient, repo: string, tag: string | undefined, n: number): Promise<string> {
  const out = await ecr.send(new PutImageCommand({ repositoryName: repo, imageManifest: manifest(n), ...(tag !== undefined ? { imageTag: tag } : {}) }));
  return out.image!.imageId!.imageDigest!;
}

async function act(emu: Emulator, body: unknown): Promise<{ status: number; json: { results?: { expired?: string[] }[]; error?: string } }> {
  const res = await fetch(`${emu.url}/_emulator/actions`, { method: "POST", body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { results?: { expired?: string[] }[]; error?: string } };
}

describe("ECR lifecycle expiry", () => {
  it("expireImage removes the image with all its tags: running tasks go on, the next task cannot pull it", async (t) => {
    const emu = await emulator(t);
    const ecr = ecrClient(emu);
    const ecs = ecsClient(emu);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "lgtm-tempo" }));
    const digest = await push(ecr, "lgtm-tempo", "2.6.0_gabc", 1);
    await ecr.send(new PutImageCommand({ repositoryName: "lgtm-tempo", imageManifest: manifest(1), imageTag: "2.6.0" }));
    const image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/lgtm-tempo:2.6.0_gabc";
    const td = await registerTd(ecs, "tempo", image);
    await createService(ecs, { name: "tempo", taskDefinition: td, desiredCount: 1 });
    await waitSteady(ecs, "tempo");
    const r = await act(emu, { type: "expireImage", repository: "lgtm-tempo", tag: "2.6.0_gabc" });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.results, [{ type: "expireImage", expired: [digest] }]);
    await assert.rejects(ecr.send(new DescribeImagesCommand({ repositoryName: "lgtm-tempo", imageIds: [{ imageTag: "2.6.0" }] })), { name: "ImageNotFoundException" });
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "tempo", forceNewDeployment: true }));
    const tasks = await waitFor(() => allTasks(ecs, "tempo"), (ts) => ts.some((x) => x.stopCode === "TaskFailedToStart"));
    assert.match(tasks.find((x) => x.stopCode === "TaskFailedToStart")!.stoppedReason!, /^CannotPullContainerError: .*lgtm-tempo:2\.6\.0_gabc/);
    assert.ok(tasks.some((x) => x.lastStatus === "RUNNING"), "the task already running is not affected");
    assert.equal((await act(emu, { type: "expireImage", repository: "lgtm-tempo", tag: "2.6.0_gabc" })).status, 404);
    assert.equal((await act(emu, { type: "expireImage", repository: "ghost", tag: "x" })).status, 404);
    assert.equal((await act(emu, { type: "expireImage", repository: "lgtm-tempo" })).status, 400);
  });

  it("applyLifecyclePolicy evaluates the stored policy: rule priority, tag prefixes, imageCountMoreThan, sinceImagePushed", async (t) => {
    const emu = await emulator(t);
    const ecr = ecrClient(emu);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "lgtm-loki" }));
    assert.equal((await act(emu, { type: "applyLifecyclePolicy", repository: "lgtm-loki" })).status, 409, "no policy yet");
    const releases = [];
    for (let i = 1; i <= 4; i += 1) releases.push(await push(ecr, "lgtm-loki", `3.1.${i}_g000${i}`, i));
    const branch = await push(ecr, "lgtm-loki", "3.1.5-feature-x.1_g0005", 5);
    const untagged = await push(ecr, "lgtm-loki", undefined, 6);
    const policy = {
      rules: [
        { rulePriority: 1, selection: { tagStatus: "tagged", tagPrefixList: ["3.1."], countType: "imageCountMoreThan", countNumber: 2 }, action: { type: "expire" } },
        { rulePriority: 2, selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 0 }, action: { type: "expire" } },
        { rulePriority: 3, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } },
      ],
    };
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: "lgtm-loki", lifecyclePolicyText: JSON.stringify(policy) }));
    const r = await act(emu, { type: "applyLifecyclePolicy", repository: "lgtm-loki" });
    assert.equal(r.status, 200);
    // Rule 1 selects the four 3.1.x releases and the branch build (prefix 3.1.), keeps the newest two (branch, 3.1.4).
    assert.deepEqual(new Set(r.json.results![0]!.expired), new Set([releases[0], releases[1], releases[2], untagged]));
    const left = await ecr.send(new DescribeImagesCommand({ repositoryName: "lgtm-loki" }));
    assert.deepEqual(new Set(left.imageDetails!.map((d) => d.imageDigest)), new Set([releases[3], branch]));
    const lp = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: "lgtm-loki" }));
    assert.ok(lp.lastEvaluatedAt instanceof Date);
  });
});
