/**
 * The garbage collector: deletes objects whose owners are gone, and carries out foreground and orphan deletion
 * (see collector.ts). It watches every resource that can own or be owned (all of lib/kube/resources.ts but events)
 * that the API server serves, through the shared informers. Its queue holds uids.
 */
import { ALL_RESOURCES, Events, type Resource } from '../../lib/kube/resources.ts';
import type { ControllerDefinition } from '../controller.ts';
import { GarbageCollector } from './collector.ts';
import { OwnershipGraph } from './graph.ts';
import { graphHandlers } from './handlers.ts';
import { servedResources } from '../../lib/kube/served.ts';

/** the resources whose objects can be owners or dependents */
export const GC_RESOURCES: readonly Resource[] = ALL_RESOURCES.filter((r) => r !== Events);

export const garbageCollector: ControllerDefinition = {
  name: 'garbage-collector',
  component: 'garbage-collector-controller',
  workers: 10,
  async setup(ctx) {
    const resources = await servedResources(ctx.client, GC_RESOURCES, ctx.log);
    const graph = new OwnershipGraph(ctx.informers, resources);
    const handlers = graphHandlers(graph, ctx.enqueue);
    for (const inf of graph.informers) inf.addEventHandler(handlers);
    return new GarbageCollector({
      client: ctx.client,
      graph,
      recorder: ctx.recorder,
      enqueue: ctx.enqueue,
      log: ctx.log,
    });
  },
};
