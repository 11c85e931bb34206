/**
 * Service throttle logic: tasks that repeatedly fail to reach RUNNING (PENDING → STOPPED) make the scheduler wait
 * longer and longer between launches, up to 27 minutes, with the event "(service X) is unable to consistently start
 * tasks successfully."; a new task definition returns the service to normal at once. Tasks that stop after reaching
 * RUNNING do not count. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-throttle-logic.html
 */
import type { Service } from "../model.js";
import type { EcsState } from "../state.js";
import { throttledEvent } from "./events.js";

export const MAX_THROTTLE_DELAY_MS = 27 * 60_000;

/** A task of the service failed to start. The second consecutive failure starts the back-off. */
export function noteLaunchFailure(ecs: EcsState, svc: Service, at: number): void {
  const th = svc.throttle;
  th.failures += 1;
  if (th.failures < 2) return;
  const base = ecs.deps.timing().launchBackoffMs;
  const delay = Math.min(MAX_THROTTLE_DELAY_MS, base * 2 ** (th.failures - 2));
  th.nextLaunchAt = Math.max(th.nextLaunchAt, at + delay);
  if (!th.announced) {
    th.announced = true;
    ecs.event(svc, at, throttledEvent(svc));
  }
}

/** A task reached RUNNING, or the service got a new task definition: no more back-off. */
export function resetThrottle(svc: Service): void {
  svc.throttle = { failures: 0, nextLaunchAt: 0, announced: false };
}

export function launchAllowed(svc: Service, now: number): boolean {
  return now >= svc.throttle.nextLaunchAt;
}
