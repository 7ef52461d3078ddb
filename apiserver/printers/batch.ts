/** Rows of batch/v1: jobs and cronjobs. */
import { humanDuration, parseTime, since } from './duration.ts';
import { formatLabelSelector } from './labels.ts';
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
  type Printer,
} from './table.ts';

/** the status of the first condition of a type is True */
function hasCondition(job: any, type: string): boolean {
  const c = arr(job?.status?.conditions).find((x) => x?.type === type);
  return c?.status === 'True';
}

export function jobStatus(job: any): string {
  if (hasCondition(job, 'Complete')) return 'Complete';
  if (hasCondition(job, 'Failed')) return 'Failed';
  if (job?.metadata?.deletionTimestamp) return 'Terminating';
  if (hasCondition(job, 'Suspended')) return 'Suspended';
  if (hasCondition(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

/** "succeeded/completions"; without completions "n/1", or "n/1 of <parallelism>" for parallel work queues */
export function jobCompletions(job: any): string {
  const succeeded = int(job?.status?.succeeded);
  const completions = job?.spec?.completions;
  if (typeof completions === 'number') return `${succeeded}/${completions}`;
  const parallelism = int(job?.spec?.parallelism);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** time from start to completion, or to now while running; '' before the job starts */
export function jobDuration(job: any, now: number): string {
  const start = parseTime(job?.status?.startTime);
  if (start === undefined) return '';
  const end = parseTime(job?.status?.completionTime);
  return humanDuration((end ?? now) - start);
}

export const jobPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Status', 'string', 'Status of the job: Running, Complete, Failed, Suspended, Terminating.'),
    column('Completions', 'string', 'Succeeded pods out of the completions wanted.'),
    column('Duration', 'string', 'Time the job took, or has been running.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ],
  row(job, ctx) {
    const [names, images] = containerCells(job?.spec?.template?.spec);
    return {
      cells: [
        job?.metadata?.name ?? '',
        jobStatus(job),
        jobCompletions(job),
        jobDuration(job, ctx.now),
        since(job?.metadata?.creationTimestamp, ctx.now),
        names,
        images,
        formatLabelSelector(job?.spec?.selector),
      ],
    };
  },
};

function boolText(v: unknown): string {
  if (typeof v !== 'boolean') return '<unset>';
  return v ? 'True' : 'False';
}

export const cronJobPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Schedule', 'string', 'Cron schedule of the job runs.'),
    column('Timezone', 'string', 'Time zone the schedule is read in.'),
    column('Suspend', 'boolean', 'Whether new runs are suspended.'),
    column('Active', 'integer', 'Number of jobs currently running.'),
    column('Last Schedule', 'string', 'Time since a job was last scheduled.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ],
  row(cj, ctx) {
    const jobSpec = cj?.spec?.jobTemplate?.spec;
    const [names, images] = containerCells(jobSpec?.template?.spec);
    const last = cj?.status?.lastScheduleTime;
    return {
      cells: [
        cj?.metadata?.name ?? '',
        cj?.spec?.schedule ?? '',
        cj?.spec?.timeZone ?? '<none>',
        boolText(cj?.spec?.suspend),
        arr(cj?.status?.active).length,
        last ? since(last, ctx.now) : '<none>',
        since(cj?.metadata?.creationTimestamp, ctx.now),
        names,
        images,
        formatLabelSelector(jobSpec?.selector),
      ],
    };
  },
};
