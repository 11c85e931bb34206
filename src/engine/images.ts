/** Resolves an image tag to its digest in ECR (read-only), so the task definition can be pinned to it. */
import type { ECRClient } from "@aws-sdk/client-ecr";
import { describeImage, describeRepository } from "../adapters/ecr.js";
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
