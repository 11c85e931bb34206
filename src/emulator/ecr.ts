import { createHash, randomBytes } from "node:crypto";
import { AwsApiError, invalidParam } from "./errors.js";
import { arr, obj, paginate, requireString, sec, str, tagsOf, type Tag } from "./util.js";

interface StoredImage {
  digest: string;
  manifest: string;
  mediaType: string;
  size: number;
  pushedAt: number;
}

interface Repo {
  name: string;
  createdAt: number;
  mutability: string;
  scanOnPush: boolean;
  encryptionType: string;
  tags: Tag[];
  images: Map<string, StoredImage>;
  /** tag → digest */
  tagIndex: Map<string, string>;
  lifecyclePolicy?: { text: string; at: number };
}

export interface Ctx {
  region: string;
  account: string;
  now: number;
  /** http://127.0.0.1:PORT */
  url: string;
}

const REPO_RE = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const DEFAULT_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json";

export interface ImageLookup {
  /** The reference points at the emulated registry. */
  emulated: boolean;
  found: boolean;
  repository?: string;
  tag?: string;
  digest?: string;
}

export class EcrState {
  readonly repos = new Map<string, Repo>();

  private repoJson(r: Repo, ctx: Ctx): Record<string, unknown> {
    return {
      repositoryArn: `arn:aws:ecr:${ctx.region}:${ctx.account}:repository/${r.name}`,
      registryId: ctx.account,
      repositoryName: r.name,
      repositoryUri: `${ctx.account}.dkr.ecr.${ctx.region}.amazonaws.com/${r.name}`,
      createdAt: sec(r.createdAt),
      imageTagMutability: r.mutability,
      imageScanningConfiguration: { scanOnPush: r.scanOnPush },
      encryptionConfiguration: { encryptionType: r.encryptionType },
    };
  }

  private repo(input: Record<string, unknown>, ctx: Ctx): Repo {
    const name = requireString(input, "repositoryName");
    const r = this.repos.get(name);
    if (!r) {
      throw new AwsApiError(
        "RepositoryNotFoundException",
        `The repository with name '${name}' does not exist in the registry with id '${ctx.account}'`,
      );
    }
    return r;
  }

  private tagsOfDigest(r: Repo, digest: string): string[] {
    return [...r.tagIndex.entries()].filter(([, d]) => d === digest).map(([t]) => t).sort();
  }

  /** Resolves imageIds → digests, or reports the missing ones. */
  private resolveIds(r: Repo, ids: unknown[]): { found: { digest: string; tag?: string }[]; missing: { id: Record<string, unknown>; code: string; reason: string }[] } {
    const found: { digest: string; tag?: string }[] = [];
    const missing: { id: Record<string, unknown>; code: string; reason: string }[] = [];
    for (const raw of ids) {
      const id = obj(raw) ?? {};
      const tag = str(id.imageTag);
      const digest = str(id.imageDigest);
      if (tag === undefined && digest === undefined) throw invalidParam("Invalid parameter at 'imageIds': an imageId needs imageTag or imageDigest.");
      const byTag = tag !== undefined ? r.tagIndex.get(tag) : undefined;
      if (tag !== undefined && byTag === undefined) {
        missing.push({ id, code: "ImageNotFound", reason: "Requested image not found" });
        continue;
      }
      if (digest !== undefined && !r.images.has(digest)) {
        missing.push({ id, code: "ImageNotFound", reason: "Requested image not found" });
        continue;
      }
      if (tag !== undefined && digest !== undefined && byTag !== digest) {
        missing.push({ id, code: "ImageTagDoesNotMatchDigest", reason: "Invalid image tag for image digest" });
        continue;
      }
      const d = (byTag ?? digest)!;
      found.push(tag === undefined ? { digest: d } : { digest: d, tag });
    }
    return { found, missing };
  }

  handle(op: string, input: Record<string, unknown>, ctx: Ctx): Record<string, unknown> | undefined {
    switch (op) {
      case "CreateRepository": {
        const name = requireString(input, "repositoryName");
        if (!REPO_RE.test(name)) {
          throw invalidParam(`Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''`);
        }
        if (this.repos.has(name)) {
          throw new AwsApiError(
            "RepositoryAlreadyExistsException",
            `The repository with name '${name}' already exists in the registry with id '${ctx.account}'`,
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
        this.repos.set(name, r);
        return { repository: this.repoJson(r, ctx) };
      }
      case "DescribeRepositories": {
        const names = arr(input.repositoryNames);
        let list: Repo[];
        if (names !== undefined) {
          list = names.map((n) => this.repo({ repositoryName: n }, ctx));
        } else {
          list = [...this.repos.values()].sort((a, b) => a.name.localeCompare(b.name));
        }
        const page = paginate(list, input.maxResults, input.nextToken, 100, 1000);
        return { repositories: page.items.map((r) => this.repoJson(r, ctx)), nextToken: page.nextToken };
      }
      case "DeleteRepository": {
        const r = this.repo(input, ctx);
        if (r.images.size > 0 && input.force !== true) {
          throw new AwsApiError("RepositoryNotEmptyException", `The repository with name '${r.name}' in registry with id '${ctx.account}' cannot be deleted because it still contains images`);
        }
        this.repos.delete(r.name);
        return { repository: this.repoJson(r, ctx) };
      }
      case "DescribeImages": {
        const r = this.repo(input, ctx);
        const ids = arr(input.imageIds);
        let digests: string[];
        if (ids !== undefined) {
          const { found, missing } = this.resolveIds(r, ids);
          if (missing.length > 0) {
            const id = missing[0]!.id;
            const desc = str(id.imageTag) !== undefined ? `imageTag=${str(id.imageTag)}` : `imageDigest=${str(id.imageDigest)}`;
            throw new AwsApiError(
              "ImageNotFoundException",
              `The image with imageId {${desc}} does not exist within the repository with name '${r.name}' in the registry with id '${ctx.account}'`,
            );
          }
          digests = [...new Set(found.map((f) => f.digest))];
        } else {
          const tagStatus = str(obj(input.filter)?.tagStatus) ?? "ANY";
          digests = [...r.images.values()]
            .sort((a, b) => a.pushedAt - b.pushedAt)
            .map((i) => i.digest)
            .filter((d) => {
              const tagged = this.tagsOfDigest(r, d).length > 0;
              return tagStatus === "ANY" || (tagStatus === "TAGGED" ? tagged : !tagged);
            });
        }
        const page = paginate(digests, input.maxResults, input.nextToken, 100, 1000);
        return {
          imageDetails: page.items.map((d) => {
            const img = r.images.get(d)!;
            const tags = this.tagsOfDigest(r, d);
            return {
              registryId: ctx.account,
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
      case "ListImages": {
        const r = this.repo(input, ctx);
        const ids: { imageDigest: string; imageTag?: string }[] = [];
        for (const img of [...r.images.values()].sort((a, b) => a.pushedAt - b.pushedAt)) {
          const tags = this.tagsOfDigest(r, img.digest);
          if (tags.length === 0) ids.push({ imageDigest: img.digest });
          for (const t of tags) ids.push({ imageDigest: img.digest, imageTag: t });
        }
        const page = paginate(ids, input.maxResults, input.nextToken, 100, 1000);
        return { imageIds: page.items, nextToken: page.nextToken };
      }
      case "BatchGetImage": {
        const r = this.repo(input, ctx);
        const ids = arr(input.imageIds);
        if (ids === undefined || ids.length === 0 || ids.length > 100) throw invalidParam("imageIds must contain between 1 and 100 items.");
        const { found, missing } = this.resolveIds(r, ids);
        return {
          images: found.map((f) => {
            const img = r.images.get(f.digest)!;
            return {
              registryId: ctx.account,
              repositoryName: r.name,
              imageId: f.tag === undefined ? { imageDigest: f.digest } : { imageDigest: f.digest, imageTag: f.tag },
              imageManifest: img.manifest,
              imageManifestMediaType: img.mediaType,
            };
          }),
          failures: missing.map((m) => ({ imageId: m.id, failureCode: m.code, failureReason: m.reason })),
        };
      }
      case "PutImage": {
        const r = this.repo(input, ctx);
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
              `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${r.name}' in registry with id '${ctx.account}'`,
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
            `Image with digest '${digest}' already exists in the repository with name '${r.name}' in registry with id '${ctx.account}'`,
          );
        }
        if (!r.images.has(digest)) r.images.set(digest, { digest, manifest, mediaType, size, pushedAt: ctx.now });
        if (tag !== undefined) r.tagIndex.set(tag, digest);
        return {
          image: {
            registryId: ctx.account,
            repositoryName: r.name,
            imageId: tag === undefined ? { imageDigest: digest } : { imageDigest: digest, imageTag: tag },
            imageManifest: manifest,
            imageManifestMediaType: mediaType,
          },
        };
      }
      case "BatchDeleteImage": {
        const r = this.repo(input, ctx);
        const ids = arr(input.imageIds) ?? [];
        const { found, missing } = this.resolveIds(r, ids);
        for (const f of found) {
          if (f.tag !== undefined) {
            r.tagIndex.delete(f.tag);
            if (this.tagsOfDigest(r, f.digest).length === 0) r.images.delete(f.digest);
          } else {
            for (const t of this.tagsOfDigest(r, f.digest)) r.tagIndex.delete(t);
            r.images.delete(f.digest);
          }
        }
        return {
          imageIds: found.map((f) => (f.tag === undefined ? { imageDigest: f.digest } : { imageDigest: f.digest, imageTag: f.tag })),
          failures: missing.map((m) => ({ imageId: m.id, failureCode: m.code, failureReason: m.reason })),
        };
      }
      case "GetAuthorizationToken": {
        const token = Buffer.from(`AWS:emulator-${randomBytes(12).toString("hex")}`).toString("base64");
        return {
          authorizationData: [{ authorizationToken: token, expiresAt: sec(ctx.now + 12 * 3_600_000), proxyEndpoint: ctx.url }],
        };
      }
      case "PutLifecyclePolicy": {
        const r = this.repo(input, ctx);
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
        return { registryId: ctx.account, repositoryName: r.name, lifecyclePolicyText: text };
      }
      case "GetLifecyclePolicy": {
        const r = this.repo(input, ctx);
        if (!r.lifecyclePolicy) {
          throw new AwsApiError(
            "LifecyclePolicyNotFoundException",
            `Lifecycle policy does not exist for the repository with name '${r.name}' in the registry with id '${ctx.account}'`,
          );
        }
        return {
          registryId: ctx.account,
          repositoryName: r.name,
          lifecyclePolicyText: r.lifecyclePolicy.text,
          lastEvaluatedAt: sec(r.lifecyclePolicy.at),
        };
      }
      default:
        return undefined;
    }
  }

  /**
   * Looks an image reference up in the emulated registry when its host is
   * `<acct>.dkr.ecr.<region>.amazonaws.com` or `127.0.0.1:<port>` / `localhost:<port>`.
   */
  lookup(ref: string): ImageLookup {
    const slash = ref.indexOf("/");
    if (slash < 0) return { emulated: false, found: true };
    const host = ref.slice(0, slash);
    const emulatedHost = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$/.test(host) || /^(127\.0\.0\.1|localhost):\d+$/.test(host);
    if (!emulatedHost) return { emulated: false, found: true };
    let rest = ref.slice(slash + 1);
    let digest: string | undefined;
    let tag: string | undefined;
    const at = rest.indexOf("@");
    if (at >= 0) {
      digest = rest.slice(at + 1);
      rest = rest.slice(0, at);
    }
    const colon = rest.lastIndexOf(":");
    if (colon >= 0) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
    if (digest === undefined && tag === undefined) tag = "latest";
    const r = this.repos.get(rest);
    const base: ImageLookup = { emulated: true, found: false, repository: rest, ...(tag !== undefined ? { tag } : {}) };
    if (!r) return base;
    if (digest !== undefined) return r.images.has(digest) ? { ...base, found: true, digest } : base;
    const d = r.tagIndex.get(tag!);
    return d === undefined ? base : { ...base, found: true, digest: d };
  }

  snapshot(): unknown {
    return [...this.repos.values()].map((r) => ({
      repositoryName: r.name,
      imageTagMutability: r.mutability,
      images: [...r.images.values()].map((i) => ({ imageDigest: i.digest, imageTags: this.tagsOfDigest(r, i.digest) })),
      lifecyclePolicy: r.lifecyclePolicy?.text,
    }));
  }
}
