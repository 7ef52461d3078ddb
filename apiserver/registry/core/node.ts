/** Nodes register with their status: the node agent writes it on create, so it is kept. */
import type { ResourceInfo } from '../../api/resource-info.ts';
import type { ApiObject } from '../../rest/meta.ts';
import type { TypeStrategy } from '../../rest/resource.ts';
import { GenericStrategy } from '../strategy.ts';

export class NodeStrategy extends GenericStrategy {
  constructor(info: ResourceInfo, type: TypeStrategy) {
    super(info, type, { returnDeletedObject: true });
  }

  override prepareForCreate(_node: ApiObject): void {}
}
