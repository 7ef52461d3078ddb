/** The resources skiff serves from the start (api/registry.ts), each with its type strategy and storage view. */
import { RESOURCES } from '../api/registry.ts';
import { byResource, STORAGE_VIEWS, STRATEGIES } from '../api/strategies.ts';
import type { TypeStrategy } from '../rest/resource.ts';
import type { ResourceDefinition } from './registry.ts';

export function builtInDefinitions(): ResourceDefinition[] {
  return RESOURCES.map((info) => {
    const type = byResource(STRATEGIES as Record<string, TypeStrategy>, info.group, info.version, info.resource);
    if (!type) throw new Error(`no type strategy for ${info.group}/${info.resource}`);
    return { info, type, view: byResource(STORAGE_VIEWS, info.group, info.version, info.resource) };
  });
}
