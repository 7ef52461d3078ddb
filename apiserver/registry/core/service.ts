/**
 * Services: they start with an empty load balancer status, and get their ClusterIP and NodePorts from the allocator
 * after validation (reserved before the write, released when it fails, freed when the Service is deleted).
 */
import type { ServiceAllocations } from '../../allocator.ts';
import type { ResourceInfo } from '../../api/resource-info.ts';
import type { ApiObject } from '../../rest/meta.ts';
import type { TypeStrategy } from '../../rest/resource.ts';
import { GenericStrategy, type Release } from '../strategy.ts';

const nothingToRelease: Release = async () => {};

export class ServiceStrategy extends GenericStrategy {
  /** allocations: none where no addresses are given out (tests of the store) */
  constructor(
    info: ResourceInfo,
    type: TypeStrategy,
    private readonly allocations?: ServiceAllocations,
  ) {
    super(info, type, { returnDeletedObject: true });
  }

  protected override initialStatus(): unknown {
    return { loadBalancer: {} };
  }

  async beginCreate(svc: ApiObject, dryRun: boolean): Promise<Release> {
    return this.allocations ? this.allocations.beforeCreate(svc, dryRun) : nothingToRelease;
  }

  async beginUpdate(svc: ApiObject, old: ApiObject, dryRun: boolean): Promise<Release> {
    return this.allocations ? this.allocations.beforeUpdate(svc, old, dryRun) : nothingToRelease;
  }

  async afterDelete(svc: ApiObject): Promise<void> {
    await this.allocations?.afterDelete(svc);
  }
}
