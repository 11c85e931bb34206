/**
 * Service event and rollout texts, as ECS writes them (service event messages:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html; rolloutStateReason as
 * recorded in real responses, e.g. awscli/examples/ecs/update-service.rst in aws/aws-cli).
 */
import type { Deployment, Service, Task } from "../model.js";

export const inProgressReason = (id: string): string => `ECS deployment ${id} in progress.`;
export const completedReason = (id: string): string => `ECS deployment ${id} completed.`;

export const startedEvent = (svc: Service, tasks: Task[]): string =>
  `(service ${svc.name}) has started ${tasks.length} tasks: ${tasks.map((t) => `(task ${t.id})`).join(" ")}.`;

export const stoppedEvent = (svc: Service, tasks: Task[]): string =>
  `(service ${svc.name}) has stopped ${tasks.length} running tasks: ${tasks.map((t) => `(task ${t.id})`).join(" ")}.`;

export const completedEvent = (svc: Service, d: Deployment): string => `(service ${svc.name}) (deployment ${d.id}) deployment completed.`;

export const steadyEvent = (svc: Service): string => `(service ${svc.name}) has reached a steady state.`;

export const deploymentFailedEvent = (svc: Service, d: Deployment): string =>
  `(service ${svc.name}) (deployment ${d.id}) deployment failed: tasks failed to start.`;

export const rollingBackEvent = (svc: Service, target: Deployment): string => `(service ${svc.name}) rolling back to deployment ${target.id}.`;

export const throttledEvent = (svc: Service): string => `(service ${svc.name}) is unable to consistently start tasks successfully.`;

export const healthCheckFailedEvent = (svc: Service, t: Task): string => `(service ${svc.name}) (task ${t.id}) failed container health checks.`;
