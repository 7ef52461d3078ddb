/**
 * The garbage collector: deletes objects whose owners are gone, and carries out foreground and orphan deletion
 * (see collector.ts). It watches every resource that can own or be owned (all of lib/kube/resources.ts but events)
 * that the API server serves, through the shared informers. Its queue holds uids.
 */
import { ALL_RESOURCES, Events, type Resource } from '../../lib/kube/resources.ts';
import type { ControllerDefinition } from '../controller.ts';
import { GarbageCollector } from './collector.ts';
import { GRAPH_INDEXES, OwnershipGraph } from './graph.ts';
import { graphHandlers } from './handlers.ts';

/** the resources whose objects can be owners or dependents */
export const GC_RESOURCES: readonly Resource[] = ALL_RESOURCES.filter((r) => r !== Events);

export const garbageCollector: ControllerDefinition<GarbageCollector> = {
  name: 'garbage-collector',
  component: 'garbage-collector-controller',
  workers: 10,
  // no kind of its own: every served resource is a part of the ownership graph, whose events queue uids
  watches: async (ctx) =>
    (await ctx.served(GC_RESOURCES)).map((resource) => ({
      resource,
      indexes: GRAPH_INDEXES,
      handler: (gc: GarbageCollector, queue) => graphHandlers(gc.graph, (uid) => queue.add(uid)),
    })),
  reconciler: async (ctx) =>
    new GarbageCollector({
      client: ctx.client,
      graph: new OwnershipGraph(ctx.informers, await ctx.served(GC_RESOURCES)),
      recorder: ctx.recorder,
      enqueue: ctx.enqueue,
      log: ctx.log,
    }),
};
