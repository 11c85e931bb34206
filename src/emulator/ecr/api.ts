/** The ECR API surface (AmazonEC2ContainerRegistry_V20150921.*): request validation and responses. */
import { createHash, randomBytes } from "node:crypto";
import { AwsApiError, invalidParam } from "../errors.js";
import { arr, obj, paginate, requireString, sec, str, tagsOf } from "../util.js";
import type { EcrState, Repo } from "./state.js";

export interface EcrCtx {
  now: number;
  /** http://127.0.0.1:PORT */
  url: string;
}

const REPO_RE = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const DEFAULT_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json";

function repoJson(ecr: EcrState, r: Repo): Record<string, unknown> {
  return {
    repositoryArn: ecr.repoArn(r),
    registryId: ecr.account,
    repositoryName: r.name,
    repositoryUri: `${ecr.account}.dkr.ecr.${ecr.region}.amazonaws.com/${r.name}`,
    createdAt: sec(r.createdAt),
    imageTagMutability: r.mutability,
    imageScanningConfiguration: { scanOnPush: r.scanOnPush },
    encryptionConfiguration: { encryptionType: r.encryptionType },
  };
}


function createRepository(ecr: EcrState, input: Record<string, unknown>, ctx: EcrCtx): Record<string, unknown> {
  const name = requireString(input, "repositoryName");
  if (!REPO_RE.test(name)) {
    throw invalidParam(`Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''`);
  }
  if (ecr.repos.has(name)) {
    throw new AwsApiError(
      "RepositoryAlreadyExistsException",
      `The repository with name '${name}' already exists in the registry with id '${ecr.account}'`,
    );
  }
  const mutability = str(input.imageTagMutability) ?? "MUTABLE";
  if (!["MUTABLE", "IMMUTABLE", "MUTABLE_WITH_EXCLUSION", "IMMUTABLE_WITH_EXCLUSION"].includes(mutability)) {
    throw invalidParam(`Invalid parameter at 'imageTagMutability': ${mutability}`);
  }
  const r: Repo = {
    name,
    createdAt: ctx.now,
    mutability,
    scanOnPush: obj(input.imageScanningConfiguration)?.scanOnPush === true,
    encryptionType: str(obj(input.encryptionConfiguration)?.encryptionType) ?? "AES256",
    tags: tagsOf((arr(input.tags) ?? []).map((t) => ({ key: obj(t)?.Key, value: obj(t)?.Value }))),
    images: new Map(),
    tagIndex: new Map(),
  };
  ecr.repos.set(name, r);
  return { repository: repoJson(ecr, r) };
}

function describeRepositories(ecr: EcrState, input: Record<string, unknown>): Record<string, unknown> {
  const names = arr(input.repositoryNames);
  let list: Repo[];
  if (names !== undefined) {
    list = names.map((n) => ecr.repo({ repositoryName: n }));
  } else {
    list = [...ecr.repos.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
  const page = paginate(list, input.maxResults, input.nextToken, 100, 1000);
  return { repositories: page.items.map((r) => repoJson(ecr, r)), nextToken: page.nextToken };
}

function deleteRepository(ecr: EcrState, input: Record<string, unknown>): Record<string, unknown> {
  const r = ecr.repo(input);
  if (r.images.size > 0 && input.force !== true) {
    throw new AwsApiError("RepositoryNotEmptyException", `The repository with name '${r.name}' in registry with id '${ecr.account}' cannot be deleted because it still contains images`);
  }
  ecr.repos.delete(r.name);
  return { repository: repoJson(ecr, r) };
}

function describeImages(ecr: EcrState, input: Record<string, unknown>): Record<string, unknown> {
  const r = ecr.repo(input);
  const ids = arr(input.imageIds);
  let digests: string[];
  if (ids !== undefined) {
    const { found, missing } = ecr.resolveIds(r, ids);
    if (missing.length > 0) {
      const id = missing[0]!.id;
      const desc = str(id.imageTag) !== undefined ? `imageTag=${str(id.imageTag)}` : `imageDigest=${str(id.imageDigest)}`;
      throw new AwsApiError(
        "ImageNotFoundException",
        `The image with imageId {${desc}} does not exist within the repository with name '${r.name}' in the registry with id '${ecr.account}'`,
      );
    }
    digests = [...new Set(found.map((f) => f.digest))];
  } else {
    const tagStatus = str(obj(input.filter)?.tagStatus) ?? "ANY";
    digests = [...r.images.values()]
      .sort((a, b) => a.pushedAt - b.pushedAt)
      .map((i) => i.digest)
      .filter((d) => {
        const tagged = ecr.tagsOfDigest(r, d).length > 0;
        return tagStatus === "ANY" || (tagStatus === "TAGGED" ? tagged : !tagged);
      });
  }
  const page = paginate(digests, input.maxResults, input.nextToken, 100, 1000);
  return {
    imageDetails: page.items.map((d) => {
      const img = r.images.get(d)!;
      const tags = ecr.tagsOfDigest(r, d);
      return {
        registryId: ecr.account,
        repositoryName: r.name,
        imageDigest: d,
        ...(tags.length > 0 ? { imageTags: tags } : {}),
        imageSizeInBytes: img.size,
        imagePushedAt: sec(img.pushedAt),
        imageManifestMediaType: img.mediaType,
        artifactMediaType: "application/vnd.docker.container.image.v1+json",
      };
    }),
    nextToken: page.nextToken,
  };
}

function listImages(ecr: EcrState, input: Record<string, unknown>): Record<string, unknown> {
  const r = ecr.repo(input);
  const ids: { imageDigest: string; imageTag?: string }[] = [];
  for (const img of [...r.images.values()].sort((a, b) => a.pushedAt - b.pushedAt)) {
    const tags = ecr.tagsOfDigest(r, img.digest);
    if (tags.length === 0) ids.push({ imageDigest: img.digest });
    for (const t of tags) ids.push({ imageDigest: img.digest, imageTag: t });
  }
  const page = paginate(ids, input.maxResults, input.nextToken, 100, 1000);
  return { imageIds: page.items, nextToken: page.nextToken };
}

function batchGetImage(ecr: EcrState, input: Record<string, unknown>): Record<string, unknown> {
  const r = ecr.repo(input);
  const ids = arr(input.imageIds);
  if (ids === undefined || ids.length === 0 || ids.length > 100) throw invalidParam("imageIds must contain between 1 and 100 items.");
  const { found, missing } = ecr.resolveIds(r, ids);
  return {
    images: found.map((f) => {
      const img = r.images.get(f.digest)!;
      return {
        registryId: ecr.account,
        repositoryName: r.name,
        imageId: f.tag === undefined ? { imageDigest: f.digest } : { imageDigest: f.digest, imageTag: f.tag },
        imageManifest: img.manifest,
        imageManifestMediaType: img.mediaType,
      };
    }),
    failures: missing.map((m) => ({ imageId: m.id, failureCode: m.code, failureReason: m.reason })),
  };
}

function putImage(ecr: EcrState, input: Record<string, unknown>, ctx: EcrCtx): Record<string, unknown> {
  const r = ecr.repo(input);
  const manifest = requireString(input, "imageManifest");
  const digest = `sha256:${createHash("sha256").update(manifest, "utf8").digest("hex")}`;
  const claimed = str(input.imageDigest);
  if (claimed !== undefined && claimed !== digest) {
    throw new AwsApiError("ImageDigestDoesNotMatchException", `The upload could not be finished because the provided image digest '${claimed}' does not match the digest '${digest}' calculated for the image manifest.`);
  }
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = obj(JSON.parse(manifest));
  } catch {
    throw invalidParam("Invalid parameter at 'imageManifest': the manifest is not valid JSON.");
  }
  const mediaType = str(input.imageManifestMediaType) ?? str(parsed?.mediaType) ?? DEFAULT_MEDIA_TYPE;
  const size = (arr(parsed?.layers) ?? []).reduce<number>((s, l) => s + (Number(obj(l)?.size) || 0), 0);
  const tag = str(input.imageTag);
  if (tag !== undefined) {
    const current = r.tagIndex.get(tag);
    if (current === digest) {
      throw new AwsApiError(
        "ImageAlreadyExistsException",
        `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${r.name}' in registry with id '${ecr.account}'`,
      );
    }
    if (current !== undefined && r.mutability.startsWith("IMMUTABLE")) {
      throw new AwsApiError(
        "ImageTagAlreadyExistsException",
        `The image tag '${tag}' already exists in the '${r.name}' repository and cannot be overwritten because the repository is immutable.`,
      );
    }
  } else if (r.images.has(digest)) {
    throw new AwsApiError(
      "ImageAlreadyExistsException",
      `Image with digest '${digest}' already exists in the repository with name '${r.name}' in registry with id '${ecr.account}'`,
    );
  }
  if (!r.images.has(digest)) r.images.set(digest, { digest, manifest, mediaType, size, pushedAt: ctx.now });
  if (tag !== undefined) r.tagIndex.set(tag, digest);
  return {
    image: {
      registryId: ecr.account,
      repositoryName: r.name,
      imageId: tag === undefined ? { imageDigest: digest } : { imageDigest: digest, imageTag: tag },
      imageManifest: manifest,
      imageManifestMediaType: mediaType,
    },
  };
}

function batchDeleteImage(ecr: EcrState, input: Record<string, unknown>): Record<string, unknown> {
  const r = ecr.repo(input);
  const ids = arr(input.imageIds) ?? [];
  const { found, missing } = ecr.resolveIds(r, ids);
  for (const f of found) {
    if (f.tag !== undefined) {
      r.tagIndex.delete(f.tag);
      if (ecr.tagsOfDigest(r, f.digest).length === 0) r.images.delete(f.digest);
    } else {
      for (const t of ecr.tagsOfDigest(r, f.digest)) r.tagIndex.delete(t);
      r.images.delete(f.digest);
    }
  }
  return {
    imageIds: found.map((f) => (f.tag === undefined ? { imageDigest: f.digest } : { imageDigest: f.digest, imageTag: f.tag })),
    failures: missing.map((m) => ({ imageId: m.id, failureCode: m.code, failureReason: m.reason })),
  };
}

function getAuthorizationToken(ecr: EcrState, input: Record<string, unknown>, ctx: EcrCtx): Record<string, unknown> {
  const token = Buffer.from(`AWS:emulator-${randomBytes(12).toString("hex")}`).toString("base64");
  return {
    authorizationData: [{ authorizationToken: token, expiresAt: sec(ctx.now + 12 * 3_600_000), proxyEndpoint: ctx.url }],
  };
}

function putLifecyclePolicy(ecr: EcrState, input: Record<string, unknown>, ctx: EcrCtx): Record<string, unknown> {
  const r = ecr.repo(input);
  const text = requireString(input, "lifecyclePolicyText");
  let policy: Record<string, unknown> | undefined;
  try {
    policy = obj(JSON.parse(text));
  } catch {
    policy = undefined;
  }
  if (policy === undefined || !Array.isArray(policy.rules)) {
    throw invalidParam("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: a JSON object with a \"rules\" array is required'");
  }
  r.lifecyclePolicy = { text, at: ctx.now };
  return { registryId: ecr.account, repositoryName: r.name, lifecyclePolicyText: text };
}

function getLifecyclePolicy(ecr: EcrState, input: Record<string, unknown>): Record<string, unknown> {
  const r = ecr.repo(input);
  if (!r.lifecyclePolicy) {
    throw new AwsApiError(
      "LifecyclePolicyNotFoundException",
      `Lifecycle policy does not exist for the repository with name '${r.name}' in the registry with id '${ecr.account}'`,
    );
  }
  return {
    registryId: ecr.account,
    repositoryName: r.name,
    lifecyclePolicyText: r.lifecyclePolicy.text,
    lastEvaluatedAt: sec(r.lifecyclePolicy.lastEvaluatedAt ?? r.lifecyclePolicy.at),
  };
}

type EcrHandler = (ecr: EcrState, input: Record<string, unknown>, ctx: EcrCtx) => Record<string, unknown>;

export const ECR_OPERATIONS: Record<string, EcrHandler> = {
  CreateRepository: createRepository,
  DescribeRepositories: describeRepositories,
  DeleteRepository: deleteRepository,
  DescribeImages: describeImages,
  ListImages: listImages,
  BatchGetImage: batchGetImage,
  PutImage: putImage,
  BatchDeleteImage: batchDeleteImage,
  GetAuthorizationToken: getAuthorizationToken,
  PutLifecyclePolicy: putLifecyclePolicy,
  GetLifecyclePolicy: getLifecyclePolicy,
};
