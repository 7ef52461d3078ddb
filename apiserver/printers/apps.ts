/**
 * Rows of apps/v1: deployments, replicasets, daemonsets, statefulsets, controllerrevisions; and of core/v1
 * replicationcontrollers, the replicasets' predecessor, printed alike.
 */
import { since } from './duration.ts';
import { formatLabelSelector, formatLabels, selectorString } from './labels.ts';
import {
  AGE_COLUMN,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  NAME_COLUMN,
  SELECTOR_COLUMN,
  arr,
  column,
  containerCells,
  int,
  type PrintContext,
  type Printer,
} from './table.ts';

const name = (o: any): string => o?.metadata?.name ?? '';
const age = (o: any, ctx: PrintContext): string => since(o?.metadata?.creationTimestamp, ctx.now);
/** spec.replicas, which defaults to 1 */
const desired = (o: any): number => (typeof o?.spec?.replicas === 'number' ? o.spec.replicas : 1);

export const deploymentPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'string', 'Ready pods out of desired pods.'),
    column('Up-to-date', 'string', 'Pods running the latest pod template.'),
    column('Available', 'string', 'Pods available to serve.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ],
  row(d, ctx) {
    const st = d?.status ?? {};
    const [names, images] = containerCells(d?.spec?.template?.spec);
    return {
      cells: [
        name(d),
        `${int(st.readyReplicas)}/${desired(d)}`,
        int(st.updatedReplicas),
        int(st.availableReplicas),
        age(d, ctx),
        names,
        images,
        selectorString(d?.spec?.selector) ?? '<invalid>',
      ],
    };
  },
};

export const replicaSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Desired', 'integer', 'Number of pods wanted.'),
    column('Current', 'integer', 'Number of pods created.'),
    column('Ready', 'integer', 'Number of pods ready.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ],
  row(rs, ctx) {
    const st = rs?.status ?? {};
    const [names, images] = containerCells(rs?.spec?.template?.spec);
    return {
      cells: [
        name(rs),
        desired(rs),
        int(st.replicas),
        int(st.readyReplicas),
        age(rs, ctx),
        names,
        images,
        formatLabelSelector(rs?.spec?.selector),
      ],
    };
  },
};

/** a ReplicationController: as a ReplicaSet, its selector a label map */
export const replicationControllerPrinter: Printer = {
  columns: replicaSetPrinter.columns,
  row(rc, ctx) {
    const st = rc?.status ?? {};
    const [names, images] = containerCells(rc?.spec?.template?.spec);
    return {
      cells: [
        name(rc),
        desired(rc),
        int(st.replicas),
        int(st.readyReplicas),
        age(rc, ctx),
        names,
        images,
        formatLabels(rc?.spec?.selector),
      ],
    };
  },
};

export const daemonSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Desired', 'integer', 'Number of nodes that should run the daemon pod.'),
    column('Current', 'integer', 'Number of nodes running the daemon pod.'),
    column('Ready', 'integer', 'Number of nodes whose daemon pod is ready.'),
    column('Up-to-date', 'integer', 'Number of nodes running the latest pod template.'),
    column('Available', 'integer', 'Number of nodes whose daemon pod is available.'),
    column('Node Selector', 'string', 'Node labels the daemon pods are restricted to.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ],
  row(ds, ctx) {
    const st = ds?.status ?? {};
    const podSpec = ds?.spec?.template?.spec;
    const [names, images] = containerCells(podSpec);
    return {
      cells: [
        name(ds),
        int(st.desiredNumberScheduled),
        int(st.currentNumberScheduled),
        int(st.numberReady),
        int(st.updatedNumberScheduled),
        int(st.numberAvailable),
        formatLabels(podSpec?.nodeSelector),
        age(ds, ctx),
        names,
        images,
        formatLabelSelector(ds?.spec?.selector),
      ],
    };
  },
};

export const statefulSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'string', 'Ready pods out of desired pods.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
  ],
  row(ss, ctx) {
    const [names, images] = containerCells(ss?.spec?.template?.spec);
    return { cells: [name(ss), `${int(ss?.status?.readyReplicas)}/${desired(ss)}`, age(ss, ctx), names, images] };
  },
};

/** "kind.group/name" of the controlling owner (lower-cased kind and group), "<none>" without one */
export function controllerOf(obj: any): string {
  const ref = arr(obj?.metadata?.ownerReferences).find((r) => r?.controller === true);
  if (!ref) return '<none>';
  const apiVersion = String(ref.apiVersion ?? '');
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const kind = String(ref.kind ?? '');
  if (!kind && !group) return ref.name ?? '';
  return `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${ref.name ?? ''}`;
}

export const controllerRevisionPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Controller', 'string', 'The object that owns this revision, as kind.group/name.'),
    column('Revision', 'string', 'Revision number of the recorded state.'),
    AGE_COLUMN,
  ],
  row: (cr, ctx) => ({ cells: [name(cr), controllerOf(cr), int(cr?.revision), age(cr, ctx)] }),
};
