/**
 * Seeds an emulator (or any ECS/ECR endpoint) with what a release needs: the cluster, the ECR repositories and image
 * manifests for given tags. Used by the rehearsal and by tests; never pointed at real AWS by the tool itself.
 */
import type { AwsClients } from "../adapters/aws.js";
import { ecrSdk, ecsSdk } from "../adapters/sdk.js";
import { COMPONENT_NAMES, repositoryName, type ComponentName } from "../core/catalogue.js";
import type { Environment } from "../core/environment.js";

export async function createCluster(clients: AwsClients, env: Environment): Promise<void> {
  const { CreateClusterCommand } = await ecsSdk();
  await clients.ecs.send(new CreateClusterCommand({ clusterName: env.cluster }));
}

export async function createRepository(clients: AwsClients, env: Environment, component: ComponentName): Promise<void> {
  const { CreateRepositoryCommand } = await ecrSdk();
  try {
    await clients.ecr.send(
      new CreateRepositoryCommand({ repositoryName: repositoryName(component, env.ecr.repositoryPrefix), imageTagMutability: "IMMUTABLE", imageScanningConfiguration: { scanOnPush: true } }),
    );
  } catch (error) {
    if ((error as Error).name !== "RepositoryAlreadyExistsException") throw error;
  }
}

/** Pushes a small, unique OCI manifest under the tag; returns its digest. */
export async function pushManifest(clients: AwsClients, env: Environment, component: ComponentName, tag: string): Promise<string> {
  const { PutImageCommand } = await ecrSdk();
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 2, digest: `sha256:${Buffer.from(`${component}:${tag}`).toString("hex").padEnd(64, "0").slice(0, 64)}` },
    layers: [],
    annotations: { "org.opencontainers.image.title": component, "org.opencontainers.image.version": tag },
  });
  const out = await clients.ecr.send(new PutImageCommand({ repositoryName: repositoryName(component, env.ecr.repositoryPrefix), imageTag: tag, imageManifest: manifest }));
  return out.image!.imageId!.imageDigest!;
}

/**
 * What a first release against the emulator needs (`lgtm-deploy emulator --seed`): the environment's cluster, the six
 * ECR repositories and, for each SHA, every component's release tag. Returns the tags pushed per component.
 */
export async function seedEnvironment(clients: AwsClients, env: Environment, tagFor: (component: ComponentName, sha: string) => string, shas: readonly string[]): Promise<Record<ComponentName, string[]>> {
  await createCluster(clients, env);
  const images = {} as Record<ComponentName, string[]>;
  for (const component of COMPONENT_NAMES) {
    await createRepository(clients, env, component);
    images[component] = [];
    for (const sha of shas) {
      const tag = tagFor(component, sha);
      await pushManifest(clients, env, component, tag);
      images[component].push(tag);
    }
  }
  return images;
}
