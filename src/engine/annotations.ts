/**
 * Grafana release annotations for one command run (--annotate): one annotation per component, posted when the
 * component's service is first changed (its UpdateService/CreateService goes out; a component never changed gets
 * none) and closed with the outcome as soon as the component is decided. When Grafana itself is part of the release,
 * every start is deferred until Grafana is released again (or decided), then flushed: an annotation posted to a
 * Grafana being replaced would be lost. The annotator (src/adapters/grafana.ts) never throws and bounds every request.
 */
import { disabledAnnotator, type AnnotationRecord, type Annotator, type ReleaseAnnotation, type ReleaseOutcome } from "../adapters/grafana.js";
import { releaseInfo } from "../core/annotation.js";
import type { State, Verdict } from "../core/rollout-state.js";

export const OFF: AnnotationRecord = { id: null, state: "off" };

export interface AnnotationSubject {
  component: string;
  version: string | null;
  tag: string | null;
  digest: string | null;
}

export interface ReleaseAnnotationsOptions {
  command: "deploy" | "rollback";
  environment: string;
  triggeredBy?: string;
  reason?: string;
  /** Components of this run: when grafana is one of them, starts wait for flush(). */
  components: readonly string[];
  /** One line when an annotation is still unconfirmed at the end (Grafana slower than the settle bound). */
  warn?: (component: string, line: string) => void;
}

export function outcomeOf(verdict: Verdict | undefined): ReleaseOutcome {
  return verdict === "succeeded" ? "released" : verdict === "rolled-back" ? "rolled-back" : "failed";
}

export class ReleaseAnnotations {
  private readonly handles = new Map<string, ReleaseAnnotation>();
  private readonly finished = new Set<string>();
  private readonly deferring: boolean;
  private flushed = false;

  constructor(
    private readonly annotator: Annotator = disabledAnnotator(),
    private readonly o: ReleaseAnnotationsOptions,
  ) {
    this.deferring = o.components.includes("grafana");
  }

  /** The component's service is about to be changed: its annotation starts now (or is queued while Grafana is released). */
  begin(subject: AnnotationSubject, now: number): void {
    if (this.handles.has(subject.component)) return;
    const info = releaseInfo({ command: this.o.command, component: subject.component, environment: this.o.environment, version: subject.version, tag: subject.tag, digest: subject.digest, triggeredBy: this.o.triggeredBy ?? null, reason: this.o.reason ?? null });
    const handle = this.deferring && !this.flushed ? this.annotator.defer(info, now) : this.annotator.start(info, now);
    this.handles.set(subject.component, handle);
  }

  /** After every state change: close a decided component's annotation; flush the deferred ones once Grafana is back. */
  observe(component: string, s: State, now: number): void {
    if (s.phase === "done" && !this.finished.has(component)) {
      const handle = this.handles.get(component);
      if (handle !== undefined) {
        this.finished.add(component);
        void handle.finish(outcomeOf(s.outcome?.verdict), now);
      }
    }
    if (this.deferring && !this.flushed && component === "grafana" && (s.phase === "released" || s.phase === "done")) this.flush();
  }

  /** Sends what was deferred (also called at the end, whatever Grafana's state: the requests are bounded). */
  flush(): void {
    if (this.flushed) return;
    this.flushed = true;
    void this.annotator.flush();
  }

  /** Waits for the requests in flight, at most `ms` (before the records are written). */
  async settle(sleep: (ms: number) => Promise<void>, ms: number): Promise<void> {
    let settled = false;
    await Promise.race([this.annotator.settle().then(() => (settled = true)), sleep(ms)]);
    if (settled) return;
    for (const [component, handle] of this.handles) {
      const r = handle.record();
      if (r.state === "pending" || (r.state === "open" && this.finished.has(component))) {
        this.o.warn?.(component, `grafana annotation (${component} ${this.o.environment}) not confirmed: Grafana had not answered within ${ms / 1000}s when the record was written (state ${r.state}); the release goes on without it`);
      }
    }
  }

  record(component: string): AnnotationRecord {
    return this.handles.get(component)?.record() ?? OFF;
  }
}
