/** The ECS operations the emulator answers (AmazonEC2ContainerServiceV20141113.*), one handler each. */
import type { EcsState } from "../state.js";
import { createCluster, describeClusters, listClusters } from "./clusters.js";
import type { ApiCtx } from "./context.js";
import { describeServiceDeployments, describeServices, describeTasks, listServiceDeployments, listTasks } from "./reads.js";
import { describeServiceRevisions, stopServiceDeployment } from "./service-deployments.js";
import { createService, deleteService, listServices, updateService } from "./services.js";
import { listTagsForResource, tagResource, untagResource } from "./tags.js";
import {
  deregisterTaskDefinition,
  describeTaskDefinition,
  listTaskDefinitionFamilies,
  listTaskDefinitions,
  registerTaskDefinition,
} from "./task-definitions.js";
import { stopTask } from "./tasks.js";

export type EcsHandler = (ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx) => Record<string, unknown>;

export const ECS_OPERATIONS: Record<string, EcsHandler> = {
  CreateCluster: createCluster,
  DescribeClusters: describeClusters,
  ListClusters: listClusters,
  RegisterTaskDefinition: registerTaskDefinition,
  DescribeTaskDefinition: describeTaskDefinition,
  DeregisterTaskDefinition: deregisterTaskDefinition,
  ListTaskDefinitions: listTaskDefinitions,
  ListTaskDefinitionFamilies: listTaskDefinitionFamilies,
  CreateService: createService,
  UpdateService: updateService,
  DeleteService: deleteService,
  DescribeServices: describeServices,
  ListServices: listServices,
  ListTasks: listTasks,
  DescribeTasks: describeTasks,
  StopTask: stopTask,
  ListServiceDeployments: listServiceDeployments,
  DescribeServiceDeployments: describeServiceDeployments,
  DescribeServiceRevisions: describeServiceRevisions,
  StopServiceDeployment: stopServiceDeployment,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
};

/** Operations whose answers may be served from a stale snapshot (scenario `consistency`). */
export const EVENTUALLY_CONSISTENT = new Set(["DescribeServices", "ListTasks", "DescribeTasks", "ListServiceDeployments", "DescribeServiceDeployments"]);
