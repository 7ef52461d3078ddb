/**
 * Recording core/v1 Events about objects, as Kubernetes' event recorder does: one Event per (object, type, reason,
 * message); a repeat within 10 minutes increments its count and lastTimestamp instead of adding another. Recording
 * never blocks or fails the caller: an event that cannot be written is logged and dropped.
 */
import type { ApiClient } from './api.ts';
import { isNotFound } from './api.ts';
import type { KubeObject } from './object.ts';
import { Events } from './resources.ts';
import type { Event } from './types/core-v1.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  first: string;
  at: number;
}

const REPEAT_WINDOW_MS = 10 * 60_000;
const MAX_REMEMBERED = 4096;

export class ApiEventRecorder implements EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly backlog: [KubeObject, EventType, string, string][] = [];
  private inFlight = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly client: ApiClient,
    /** source.component, e.g. "deployment-controller", "default-scheduler" */
    private readonly component: string,
    private readonly host?: string,
    /** writes in flight at once */
    private readonly concurrency = 8,
  ) {}

  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    if (this.backlog.length > 5000) return; // a flood is dropped rather than queued without bound
    this.backlog.push([obj, type, reason, message]);
    this.pump();
  }

  /** resolves when every event recorded so far is written (tests, shutdown) */
  flush(): Promise<void> {
    if (this.inFlight === 0 && this.backlog.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.backlog.length) {
      const [obj, type, reason, message] = this.backlog.shift()!;
      this.inFlight++;
      this.write(obj, type, reason, message)
        .catch((e) =>
          console.error(
            `${this.component}: could not record event ${reason} for ${obj.kind}/${obj.metadata.name}: ${(e as Error).message}`,
          ),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
          if (this.inFlight === 0 && this.backlog.length === 0) for (const w of this.idle.splice(0)) w();
        });
    }
  }

  private async write(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace || 'default';
    const key = `${obj.metadata.uid ?? ''}|${obj.kind}|${namespace}|${obj.metadata.name}|${type}|${reason}|${message}`;
    const now = new Date();
    const nowIso = now.toISOString().replace(/\.\d+Z$/, 'Z');
    const prev = this.seen.get(key);
    if (prev && now.getTime() - prev.at < REPEAT_WINDOW_MS) {
      prev.count++;
      prev.at = now.getTime();
      try {
        await this.client.patch(
          Events,
          prev.namespace,
          prev.name,
          { count: prev.count, lastTimestamp: nowIso },
          'merge',
        );
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        // the event was removed meanwhile (TTL, namespace cleanup): write a new one
      }
    }
    const name = `${obj.metadata.name}.${(now.getTime() * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)}`;
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      firstTimestamp: nowIso,
      lastTimestamp: nowIso,
      count: 1,
      reportingComponent: this.component,
      reportingInstance: this.host ?? '',
    };
    await this.client.create(Events, ev);
    if (this.seen.size >= MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { name, namespace, count: 1, first: nowIso, at: now.getTime() });
  }
}

/** Records into an array: for tests beside the code. */
export class MemoryEventRecorder implements EventRecorder {
  readonly events: { object: string; type: EventType; reason: string; message: string }[] = [];
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    this.events.push({
      object: `${obj.kind}/${obj.metadata.namespace ? obj.metadata.namespace + '/' : ''}${obj.metadata.name}`,
      type,
      reason,
      message,
    });
  }
}
