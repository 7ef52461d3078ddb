/**
 * Admission, as k8s.io/apiserver's admission package: every write passes an ordered chain of plugins after its
 * object is prepared. Mutating plugins (admit) may change the object or refuse it; then the resource's own validation
 * runs; then validating plugins (validate) may refuse it. A plugin says which operations it handles; a refusal is the
 * ApiError it throws (built with rest/status.ts).
 */
import type { ResourceInfo } from '../api/resource-info.ts';
import type { UserInfo } from '../auth/user.ts';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

import type { ApiObject } from '../rest/meta.ts';

export type { ApiObject } from '../rest/meta.ts';
export { isObject } from '../rest/meta.ts';

/** what one write asks: k8s.io/apiserver's admission.Attributes */
export interface Attributes {
  operation: Operation;
  /** the resource written (for a subresource, the resource it belongs to) */
  resource: ResourceInfo;
  /** '' for the resource itself */
  subresource: string;
  /** '' for a cluster-scoped resource */
  namespace: string;
  name: string;
  /** the object to store (mutating plugins change it in place); for a subresource, its own object (a Binding) */
  object: ApiObject | undefined;
  /** the stored object an update or deletion starts from */
  oldObject: ApiObject | undefined;
  /** who asks; undefined for the API server's own writes */
  userInfo: UserInfo | undefined;
  dryRun: boolean;
}

export interface Plugin {
  /** the plugin's name, as Kubernetes names its plugins (NamespaceLifecycle, ServiceAccount) */
  readonly name: string;
  handles(operation: Operation): boolean;
}

export interface MutatingPlugin extends Plugin {
  admit(a: Attributes): void | Promise<void>;
}

export interface ValidatingPlugin extends Plugin {
  validate(a: Attributes): void | Promise<void>;
}

export type AdmissionPlugin = MutatingPlugin | ValidatingPlugin | (MutatingPlugin & ValidatingPlugin);

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** the plugins in order, each phase's list per operation made once */
export class AdmissionChain {
  private readonly mutating = new Map<Operation, MutatingPlugin[]>();
  private readonly validating = new Map<Operation, ValidatingPlugin[]>();

  constructor(readonly plugins: readonly AdmissionPlugin[]) {
    for (const op of OPERATIONS) {
      const handling = plugins.filter((p) => p.handles(op));
      this.mutating.set(
        op,
        handling.filter((p): p is MutatingPlugin => 'admit' in p),
      );
      this.validating.set(
        op,
        handling.filter((p): p is ValidatingPlugin => 'validate' in p),
      );
    }
  }

  /** whether any plugin takes part in the operation (no attributes need be built otherwise) */
  handles(op: Operation): boolean {
    return this.mutating.get(op)!.length > 0 || this.validating.get(op)!.length > 0;
  }

  /** the mutating phase */
  async admit(a: Attributes): Promise<void> {
    for (const p of this.mutating.get(a.operation)!) {
      const pending = p.admit(a);
      if (pending) await pending;
    }
  }

  /** the validating phase, after the resource's own validation */
  async validate(a: Attributes): Promise<void> {
    for (const p of this.validating.get(a.operation)!) {
      const pending = p.validate(a);
      if (pending) await pending;
    }
  }
}

/** the object of a write to core pods itself (not a subresource), or undefined */
export function podOf(a: Attributes): ApiObject | undefined {
  if (a.resource.group !== '' || a.resource.resource !== 'pods' || a.subresource !== '') return undefined;
  return a.object;
}
