/** Images in ECR, read-only: tags resolved to digests for pinning, and whether a revision's image is still there. */
import type { ECRClient } from "@aws-sdk/client-ecr";
import { describeImage, describeRepository } from "../adapters/ecr.js";
import { ecrSdk } from "../adapters/sdk.js";
import { PreconditionError } from "../core/errors.js";

export async function resolveDigest(ecr: ECRClient, repositoryName: string, tag: string, registry: string): Promise<string> {
  const image = await describeImage(ecr, repositoryName, tag);
  if (image?.imageDigest !== undefined) return image.imageDigest;
  // Only on failure: one more call to say which of the two is missing.
  if ((await describeRepository(ecr, repositoryName)) === undefined) {
    throw new PreconditionError(`ECR repository ${repositoryName} does not exist in ${registry}; build and push the image first (lgtm-deploy build ... --push; against the local emulator: lgtm-deploy emulator --seed)`);
  }
  throw new PreconditionError(`image ${registry}/${repositoryName}:${tag} does not exist in ECR; build and push it first (lgtm-deploy build ... --push; against the local emulator: lgtm-deploy emulator --seed)`);
}

/** `registry/repo@sha256:…` or `registry/repo:tag`, split; undefined for a reference that is not in `registry`. */
export function parseImage(image: string, registry: string): { repositoryName: string; digest?: string; tag?: string } | undefined {
  if (!image.startsWith(`${registry}/`)) return undefined;
  const rest = image.slice(registry.length + 1);
  const at = rest.indexOf("@");
  if (at >= 0) return { repositoryName: rest.slice(0, at), digest: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(":");
  return colon >= 0 ? { repositoryName: rest.slice(0, colon), tag: rest.slice(colon + 1) } : { repositoryName: rest, tag: "latest" };
}

/**
 * Whether ECR still has the image (an ECR lifecycle policy may have expired it): true, false, or undefined when the
 * image is not in the environment's registry and cannot be checked.
 */
export async function imageStillThere(ecr: ECRClient, image: string, registry: string): Promise<boolean | undefined> {
  const ref = parseImage(image, registry);
  if (ref === undefined) return undefined;
  const { DescribeImagesCommand } = await ecrSdk();
  try {
    const out = await ecr.send(new DescribeImagesCommand({ repositoryName: ref.repositoryName, imageIds: [ref.digest ? { imageDigest: ref.digest } : { imageTag: ref.tag! }] }));
    return (out.imageDetails ?? []).length > 0;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "ImageNotFoundException" || name === "RepositoryNotFoundException") return false;
    throw error;
  }
}
