/** Resolves an image tag to its digest in ECR (read-only), so the task definition can be pinned to it. */
import type { ECRClient } from "@aws-sdk/client-ecr";
import { ecrSdk } from "../adapters/sdk.js";
import { PreconditionError } from "../core/errors.js";

export async function resolveDigest(ecr: ECRClient, repositoryName: string, tag: string, registry: string): Promise<string> {
  const { DescribeImagesCommand } = await ecrSdk();
  try {
    const out = await ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: tag }] }));
    const digest = out.imageDetails?.[0]?.imageDigest;
    if (digest === undefined) throw new PreconditionError(`image ${registry}/${repositoryName}:${tag} has no digest in ECR`);
    return digest;
  } catch (error) {
    const name = (error as Error).name;
    if (name === "ImageNotFoundException") {
      throw new PreconditionError(`image ${registry}/${repositoryName}:${tag} does not exist in ECR; build and push it first (lgtm-deploy build ... --push)`);
    }
    if (name === "RepositoryNotFoundException") {
      throw new PreconditionError(`ECR repository ${repositoryName} does not exist in ${registry}; build and push the image first (lgtm-deploy build ... --push)`);
    }
    throw error;
  }
}
