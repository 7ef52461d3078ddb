/** Rows of HorizontalPodAutoscalers (v1 ones through their v2 form), with the TARGETS text ("cpu: 40%/80%, memory: 200Mi/1Gi"). */
import { canonicalQuantity } from '../../lib/kube/quantity.ts';
import { hpaV1ToV2 } from '../api/autoscaling/hpa-v1.ts';
import { since } from './duration.ts';
import { AGE_COLUMN, NAME_COLUMN, arr, column, int, type Printer } from './table.ts';

/** a quantity as canonical text, "<nil>" when absent */
function qty(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  return String(canonicalQuantity(v));
}

const has = (v: unknown): boolean => v !== undefined && v !== null;

/** "current/target" per metric, at most two, then " + N more..."; "<none>" without metrics */
export function formatHpaMetrics(specs: unknown, statuses: unknown): string {
  const sp = arr(specs);
  const st = arr(statuses);
  if (sp.length === 0) return '<none>';
  const list: string[] = [];
  sp.forEach((spec, i) => {
    const status = st[i];
    switch (spec?.type) {
      case 'External':
      case 'Object': {
        const key = spec.type === 'External' ? 'external' : 'object';
        const target = spec[key]?.target ?? {};
        const current = status?.[key];
        if (has(target.averageValue)) {
          const cur = current && has(current.current?.averageValue) ? qty(current.current.averageValue) : '<unknown>';
          list.push(`${cur}/${qty(target.averageValue)} (avg)`);
        } else {
          const cur = current ? qty(current.current?.value) : '<unknown>';
          list.push(`${cur}/${qty(target.value)}`);
        }
        break;
      }
      case 'Pods': {
        const cur = status?.pods ? qty(status.pods.current?.averageValue) : '<unknown>';
        list.push(`${cur}/${qty(spec.pods?.target?.averageValue)}`);
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
        const src = spec[key] ?? {};
        const target = src.target ?? {};
        const current = status?.[key];
        if (has(target.averageValue)) {
          const cur = current ? qty(current.current?.averageValue) : '<unknown>';
          list.push(`${src.name ?? ''}: ${cur}/${qty(target.averageValue)}`);
        } else {
          const cur =
            current && has(current.current?.averageUtilization)
              ? `${int(current.current.averageUtilization)}%`
              : '<unknown>';
          const tgt = has(target.averageUtilization) ? `${int(target.averageUtilization)}%` : '<auto>';
          list.push(`${src.name ?? ''}: ${cur}/${tgt}`);
        }
        break;
      }
      default:
        list.push('<unknown type>');
    }
  });
  const MAX = 2;
  if (list.length > MAX) return `${list.slice(0, MAX).join(', ')} + ${list.length - MAX} more...`;
  return list.join(', ');
}

export const hpaPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Reference', 'string', 'The scaled object, as kind/name.'),
    column('Targets', 'string', 'Current and target values of the metrics.'),
    column('MinPods', 'string', 'Lowest replica count the autoscaler may set.'),
    column('MaxPods', 'string', 'Highest replica count the autoscaler may set.'),
    column('Replicas', 'string', 'Current replica count of the scaled object.'),
    AGE_COLUMN,
  ],
  row(shown, ctx) {
    // an autoscaling/v1 object is printed from its v2 form, as Kubernetes prints both from its internal type
    const hpa = shown?.apiVersion === 'autoscaling/v1' ? hpaV1ToV2(shown) : shown;
    const spec = hpa?.spec ?? {};
    const ref = spec.scaleTargetRef ?? {};
    return {
      cells: [
        hpa?.metadata?.name ?? '',
        `${ref.kind ?? ''}/${ref.name ?? ''}`,
        formatHpaMetrics(spec.metrics, hpa?.status?.currentMetrics),
        typeof spec.minReplicas === 'number' ? String(spec.minReplicas) : '<unset>',
        int(spec.maxReplicas),
        int(hpa?.status?.currentReplicas),
        since(hpa?.metadata?.creationTimestamp, ctx.now),
      ],
    };
  },
};
