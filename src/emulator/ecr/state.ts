/** The emulated ECR registry of one account and region: repositories, image manifests and tags. */
import { AwsApiError, invalidParam } from "../errors.js";
import { obj, str, type Tag } from "../util.js";

export interface StoredImage {
  digest: string;
  manifest: string;
  mediaType: string;
  size: number;
  pushedAt: number;
}

export interface Repo {
  name: string;
  createdAt: number;
  mutability: string;
  scanOnPush: boolean;
  encryptionType: string;
  tags: Tag[];
  images: Map<string, StoredImage>;
  /** tag → digest */
  tagIndex: Map<string, string>;
  lifecyclePolicy?: { text: string; at: number; lastEvaluatedAt?: number };
}

export interface ImageLookup {
  /** The reference points at the emulated registry. */
  emulated: boolean;
  found: boolean;
  repository?: string;
  tag?: string;
  digest?: string;
}

export interface ResolvedIds {
  found: { digest: string; tag?: string }[];
  missing: { id: Record<string, unknown>; code: string; reason: string }[];
}

export class EcrState {
  readonly repos = new Map<string, Repo>();

  constructor(
    readonly account: string,
    readonly region: string,
  ) {}

  repoArn(r: Repo): string {
    return `arn:aws:ecr:${this.region}:${this.account}:repository/${r.name}`;
  }

  repo(input: Record<string, unknown>): Repo {
    const name = input.repositoryName;
    if (typeof name !== "string" || name === "") throw invalidParam("repositoryName should not be null or empty.");
    const r = this.repos.get(name);
    if (!r) {
      throw new AwsApiError(
        "RepositoryNotFoundException",
        `The repository with name '${name}' does not exist in the registry with id '${this.account}'`,
      );
    }
    return r;
  }

  tagsOfDigest(r: Repo, digest: string): string[] {
    return [...r.tagIndex.entries()].filter(([, d]) => d === digest).map(([t]) => t).sort();
  }

  /** Removes an image (every tag of its digest), as a lifecycle policy's `expire` action does. */
  expire(r: Repo, digest: string): void {
    for (const t of this.tagsOfDigest(r, digest)) r.tagIndex.delete(t);
    r.images.delete(digest);
  }

  /** Resolves imageIds → digests, or reports the missing ones. */
  resolveIds(r: Repo, ids: unknown[]): ResolvedIds {
    const out: ResolvedIds = { found: [], missing: [] };
    for (const raw of ids) {
      const id = obj(raw) ?? {};
      const tag = str(id.imageTag);
      const digest = str(id.imageDigest);
      if (tag === undefined && digest === undefined) throw invalidParam("Invalid parameter at 'imageIds': an imageId needs imageTag or imageDigest.");
      const byTag = tag !== undefined ? r.tagIndex.get(tag) : undefined;
      if ((tag !== undefined && byTag === undefined) || (digest !== undefined && !r.images.has(digest))) {
        out.missing.push({ id, code: "ImageNotFound", reason: "Requested image not found" });
        continue;
      }
      if (tag !== undefined && digest !== undefined && byTag !== digest) {
        out.missing.push({ id, code: "ImageTagDoesNotMatchDigest", reason: "Invalid image tag for image digest" });
        continue;
      }
      const d = (byTag ?? digest)!;
      out.found.push(tag === undefined ? { digest: d } : { digest: d, tag });
    }
    return out;
  }

  /** Looks up `<repo>[:tag|@digest]` (no tag means `latest`) in this registry. */
  lookupPath(rest: string): ImageLookup {
    let path = rest;
    let digest: string | undefined;
    let tag: string | undefined;
    const at = path.indexOf("@");
    if (at >= 0) {
      digest = path.slice(at + 1);
      path = path.slice(0, at);
    }
    const colon = path.lastIndexOf(":");
    if (colon >= 0) {
      tag = path.slice(colon + 1);
      path = path.slice(0, colon);
    }
    if (digest === undefined && tag === undefined) tag = "latest";
    const r = this.repos.get(path);
    const base: ImageLookup = { emulated: true, found: false, repository: path, ...(tag !== undefined ? { tag } : {}) };
    if (!r) return base;
    if (digest !== undefined) return r.images.has(digest) ? { ...base, found: true, digest } : base;
    const d = r.tagIndex.get(tag!);
    return d === undefined ? base : { ...base, found: true, digest: d };
  }

  snapshot(): unknown[] {
    return [...this.repos.values()].map((r) => ({
      repositoryName: r.name,
      repositoryArn: this.repoArn(r),
      imageTagMutability: r.mutability,
      images: [...r.images.values()].map((i) => ({ imageDigest: i.digest, imageTags: this.tagsOfDigest(r, i.digest), imagePushedAt: i.pushedAt / 1000 })),
      lifecyclePolicy: r.lifecyclePolicy?.text,
    }));
  }
}

/** `<12 digits>.dkr.ecr.<region>.amazonaws.com` → its account and region; loopback hosts → undefined (the caller's). */
export function registryOf(host: string): { emulated: boolean; account?: string; region?: string } {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host);
  if (m) return { emulated: true, account: m[1]!, region: m[2]! };
  if (/^(127\.0\.0\.1|localhost):\d+$/.test(host)) return { emulated: true };
  return { emulated: false };
}
