/**
 * One etcd watch = one gRPC watch stream carrying one watcher. The stream is never resumed behind the caller's
 * back: when it breaks, the watch ends with UnavailableError and the caller re-lists and re-watches, so a lost
 * connection can never turn into a silent gap.
 */
import type { Etcd3, IEvent, IKeyValue, IWatchResponse } from 'etcd3';
import {
  CompactedError,
  UnavailableError,
  type KeyValue,
  type Watch,
  type WatchEvent,
  type WatchHandlers,
} from '../backend.ts';

type WatchStream = Awaited<ReturnType<Etcd3['watchClient']['watch']>>;

export function kvFromEtcd(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value ? kv.value.toString('utf8') : '',
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
  };
}

export function eventFromEtcd(ev: IEvent): WatchEvent {
  const prevKv = ev.prev_kv ? kvFromEtcd(ev.prev_kv) : undefined;
  if (ev.type === 'Delete') {
    const kv = kvFromEtcd(ev.kv);
    // etcd's delete event carries only the key and revision: complete it from the previous value
    const full: KeyValue = prevKv ? { ...kv, value: prevKv.value, createRevision: prevKv.createRevision } : kv;
    return prevKv ? { type: 'DELETE', kv: full, prevKv } : { type: 'DELETE', kv: full };
  }
  return prevKv ? { type: 'PUT', kv: kvFromEtcd(ev.kv), prevKv } : { type: 'PUT', kv: kvFromEtcd(ev.kv) };
}

export interface WatchTarget {
  key: Buffer;
  rangeEnd: Buffer;
  /** deliver events with revision > fromRevision; 0 = from now */
  fromRevision: number;
}

export function startWatch(client: Etcd3, where: string, target: WatchTarget, handlers: WatchHandlers): Watch {
  let stream: WatchStream | undefined;
  let done = false;
  const fail = (err: Error) => {
    if (done) return;
    done = true;
    stream?.cancel();
    try {
      handlers.onError(err);
    } catch {
      // the consumer is gone either way
    }
  };
  const onData = (res: IWatchResponse) => {
    if (done) return;
    const compacted = Number(res.compact_revision ?? 0);
    if (compacted > 0) return fail(new CompactedError(target.fromRevision, compacted));
    if (res.canceled)
      return fail(
        new UnavailableError(`etcd at ${where} canceled the watch: ${res.cancel_reason || 'no reason given'}`),
      );
    if (!res.events || res.events.length === 0) return;
    const events = res.events.map(eventFromEtcd);
    try {
      handlers.onEvents(events);
    } catch (err) {
      fail(new Error(`watch consumer failed while handling events: ${(err as Error).message}`, { cause: err }));
    }
  };
  client.watchClient
    .watch()
    .then((s) => {
      stream = s;
      if (done) {
        s.cancel();
        return;
      }
      s.on('data', onData);
      s.on('error', (err: Error) =>
        fail(new UnavailableError(`the watch stream to etcd at ${where} failed: ${err.message}`, { cause: err })),
      );
      s.on('end', () => fail(new UnavailableError(`etcd at ${where} ended the watch stream`)));
      s.write({
        create_request: {
          key: target.key,
          range_end: target.rangeEnd,
          start_revision: target.fromRevision > 0 ? target.fromRevision + 1 : undefined,
          prev_kv: true,
        },
      });
    })
    .catch((err: Error) =>
      fail(new UnavailableError(`cannot open a watch stream to etcd at ${where}: ${err.message}`, { cause: err })),
    );
  return {
    cancel() {
      if (done) return;
      done = true;
      stream?.cancel();
    },
  };
}
