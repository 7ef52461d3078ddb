/**
 * The status conditions a terminating namespace carries while its content is deleted, with Kubernetes' types,
 * reasons and messages: each of the five is True with what went wrong or what remains, or False with its "ok"
 * reason. A condition's lastTransitionTime changes only when its status does.
 */
export const CONDITION_TYPES = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;

export type NamespaceConditionType = (typeof CONDITION_TYPES)[number];

export interface NamespaceCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

const OK: Record<NamespaceConditionType, { reason: string; message: string }> = {
  NamespaceDeletionDiscoveryFailure: {
    reason: 'ResourcesDiscovered',
    message: 'All resources successfully discovered',
  },
  NamespaceDeletionGroupVersionParsingFailure: {
    reason: 'ParsedGroupVersions',
    message: 'All legacy kube types successfully parsed',
  },
  NamespaceDeletionContentFailure: {
    reason: 'ContentDeleted',
    message: 'All content successfully deleted, may be waiting on finalization',
  },
  NamespaceContentRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
  NamespaceFinalizersRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
};

/** what one pass over the namespace's content found */
export interface ContentReport {
  /** errors while discovering what to delete */
  discoveryErrors: string[];
  /** errors while deleting or listing, one per resource */
  deleteErrors: string[];
  /** "pods." / "deployments.apps" -> instances still there */
  remaining: Map<string, number>;
  /** finalizer -> instances held by it */
  finalizers: Map<string, number>;
}

/** the True conditions a pass calls for (the others become False with their "ok" reason) */
export function failingConditions(
  report: ContentReport,
): Map<NamespaceConditionType, { reason: string; message: string }> {
  const out = new Map<NamespaceConditionType, { reason: string; message: string }>();
  if (report.discoveryErrors.length > 0) {
    out.set('NamespaceDeletionDiscoveryFailure', {
      reason: 'DiscoveryFailed',
      message: report.discoveryErrors.join(', '),
    });
  }
  if (report.deleteErrors.length > 0) {
    const msgs = [...report.deleteErrors].sort();
    out.set('NamespaceDeletionContentFailure', {
      reason: 'ContentDeletionFailed',
      message: `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}`,
    });
  }
  const remaining = [...report.remaining]
    .filter(([, n]) => n > 0)
    .map(([gr, n]) => `${gr} has ${n} resource instances`)
    .sort();
  if (remaining.length > 0) {
    out.set('NamespaceContentRemaining', {
      reason: 'SomeResourcesRemain',
      message: `Some resources are remaining: ${remaining.join(', ')}`,
    });
  }
  const byFinalizer = [...report.finalizers]
    .filter(([, n]) => n > 0)
    .map(([f, n]) => `${f} in ${n} resource instances`)
    .sort();
  if (byFinalizer.length > 0) {
    out.set('NamespaceFinalizersRemaining', {
      reason: 'SomeFinalizerRemain',
      message: `Some finalizers are remaining: ${byFinalizer.join(', ')}`,
    });
  }
  return out;
}

/**
 * The namespace's conditions after a pass: every one of the five set, others kept as they are. `changed` says
 * whether a status write is needed.
 */
export function updateConditions(
  current: NamespaceCondition[] | undefined,
  report: ContentReport,
  now: string,
): { conditions: NamespaceCondition[]; changed: boolean } {
  const failing = failingConditions(report);
  const conditions = (current ?? []).map((c) => ({ ...c }));
  let changed = false;
  for (const type of CONDITION_TYPES) {
    const f = failing.get(type);
    const want: NamespaceCondition = f
      ? { type, status: 'True', lastTransitionTime: now, ...f }
      : { type, status: 'False', lastTransitionTime: now, ...OK[type] };
    const old = conditions.find((c) => c.type === type);
    if (!old) {
      conditions.push(want);
      changed = true;
    } else if (old.status !== want.status || old.reason !== want.reason || old.message !== want.message) {
      if (old.status !== want.status) old.lastTransitionTime = now;
      old.status = want.status;
      old.reason = want.reason;
      old.message = want.message;
      changed = true;
    }
  }
  return { conditions, changed };
}
