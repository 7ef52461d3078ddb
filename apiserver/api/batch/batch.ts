/**
 * batch/v1 Jobs and CronJobs: defaults (completions/parallelism, backoffLimit, generated selector and labels for
 * Jobs; concurrency and history limits for CronJobs), validation and immutable fields.
 */
import type { FieldError } from '../field-error.ts';
import { isBeingCreated, isObj, makeStrategy } from '../common.ts';
import { GoValue, immutable, invalid, nonNegative, notSupported, required } from '../validation/errors.ts';
import { defaultPodTemplate } from '../core/pod-defaults.ts';
import { validatePodTemplateSpec } from '../core/pod-validation.ts';
import { renderLabelSelector, validateLabelSelector } from '../validation/selector.ts';
import { validateTemplateMatches } from '../apps/workload.ts';
import { cronScheduleError } from './cron-schedule.ts';

const MAX_INT32 = 2147483647;
export const JOB_LABELS = {
  controllerUid: 'batch.kubernetes.io/controller-uid',
  jobName: 'batch.kubernetes.io/job-name',
  legacyControllerUid: 'controller-uid',
  legacyJobName: 'job-name',
};

const unset = (v: unknown) => v === undefined || v === null;

/** SetDefaults_Job on a job spec (also used for CronJob job templates' pod specs) */
function defaultJobSpec(spec: any): void {
  if (unset(spec.completions) && unset(spec.parallelism)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (unset(spec.parallelism)) spec.parallelism = 1;
  if (unset(spec.backoffLimit)) spec.backoffLimit = unset(spec.backoffLimitPerIndex) ? 6 : MAX_INT32;
  if (unset(spec.completionMode)) spec.completionMode = 'NonIndexed';
  if (unset(spec.suspend)) spec.suspend = false;
  if (unset(spec.podReplacementPolicy))
    spec.podReplacementPolicy = isObj(spec.podFailurePolicy) ? 'Failed' : 'TerminatingOrFailed';
  if (isObj(spec.podFailurePolicy)) {
    for (const rule of Array.isArray(spec.podFailurePolicy.rules) ? spec.podFailurePolicy.rules : []) {
      for (const c of Array.isArray(rule?.onPodConditions) ? rule.onPodConditions : [])
        if (isObj(c) && !c.status) c.status = 'True';
    }
  }
  defaultPodTemplate(spec.template);
}

/** the selector and labels Kubernetes generates for a new Job unless spec.manualSelector is true */
function generateJobSelector(job: any): void {
  const spec = job.spec;
  if (spec.manualSelector === true) return;
  const uid = String(job.metadata?.uid ?? '');
  const name = String(job.metadata?.name ?? '');
  spec.template ??= {};
  spec.template.metadata ??= {};
  const labels = (spec.template.metadata.labels ??= {});
  for (const k of [JOB_LABELS.legacyJobName, JOB_LABELS.jobName]) if (!(k in labels)) labels[k] = name;
  for (const k of [JOB_LABELS.legacyControllerUid, JOB_LABELS.controllerUid]) if (!(k in labels)) labels[k] = uid;
  spec.selector ??= {};
  spec.selector.matchLabels ??= {};
  if (!(JOB_LABELS.controllerUid in spec.selector.matchLabels))
    spec.selector.matchLabels[JOB_LABELS.controllerUid] = uid;
}

export function defaultJob(job: any): void {
  const spec = (job.spec ??= {});
  defaultJobSpec(spec);
  if (isBeingCreated(job)) generateJobSelector(job);
  // a Job without labels of its own carries its pod template's (including the generated ones)
  const tmplLabels = spec.template?.metadata?.labels;
  if (isObj(tmplLabels) && Object.keys(job.metadata?.labels ?? {}).length === 0)
    (job.metadata ??= {}).labels = { ...tmplLabels };
}

/** the job spec checks shared by Jobs and CronJob job templates (path: 'spec' or 'spec.jobTemplate.spec') */
function validateJobSpecCommon(spec: any, p: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'ttlSecondsAfterFinished',
    'backoffLimitPerIndex',
    'maxFailedIndexes',
  ]) {
    errs.push(...nonNegative(`${p}.${k}`, spec[k]));
  }
  const modes = ['NonIndexed', 'Indexed'];
  if (!unset(spec.completionMode) && !modes.includes(spec.completionMode))
    errs.push(notSupported(`${p}.completionMode`, spec.completionMode, modes));
  if (spec.completionMode === 'Indexed' && unset(spec.completions))
    errs.push(required(`${p}.completions`, 'when completion mode is Indexed'));
  errs.push(...validatePodTemplateSpec(spec.template, `${p}.template`));
  const rp = spec.template?.spec?.restartPolicy;
  if (rp !== 'OnFailure' && rp !== 'Never')
    errs.push(notSupported(`${p}.template.spec.restartPolicy`, rp ?? '', ['OnFailure', 'Never']));
  return errs;
}

function validateJob(job: any): FieldError[] {
  const spec = job?.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.manualSelector !== true) {
    if (Object.keys(spec.template?.metadata?.labels ?? {}).length === 0)
      errs.push(required('spec.template.metadata.labels'));
  }
  if (unset(spec.selector)) errs.push(required('spec.selector'));
  else {
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    errs.push(...validateTemplateMatches(spec.selector, spec.template));
  }
  errs.push(...validateJobSpecCommon(spec, 'spec'));
  return errs;
}

function validateJobUpdate(job: any, old: any): FieldError[] {
  const spec = job?.spec ?? {};
  const oldSpec = old?.spec ?? {};
  const errs: FieldError[] = [];
  errs.push(
    ...immutable('spec.selector', spec.selector ?? null, oldSpec.selector ?? null, renderLabelSelector(spec.selector)),
  );
  if (spec.completionMode !== 'Indexed')
    errs.push(...immutable('spec.completions', spec.completions ?? null, oldSpec.completions ?? null));
  errs.push(...immutable('spec.completionMode', spec.completionMode ?? null, oldSpec.completionMode ?? null));
  errs.push(
    ...immutable(
      'spec.podFailurePolicy',
      spec.podFailurePolicy ?? null,
      oldSpec.podFailurePolicy ?? null,
      new GoValue('&batch.PodFailurePolicy{...}'),
    ),
  );
  // the template may change only while the job is suspended and has not started
  const mutableTemplate = oldSpec.suspend === true && !old?.status?.startTime;
  if (!mutableTemplate)
    errs.push(
      ...immutable(
        'spec.template',
        spec.template ?? null,
        oldSpec.template ?? null,
        new GoValue('core.PodTemplateSpec{...}'),
      ),
    );
  return errs;
}

export const jobStrategy = makeStrategy({
  namespaced: true,
  defaults: defaultJob,
  validate: validateJob,
  validateUpdate: validateJobUpdate,
  validateStatusUpdate(job) {
    const st = job?.status ?? {};
    const errs: FieldError[] = [];
    for (const k of ['active', 'succeeded', 'failed', 'ready', 'terminating'])
      errs.push(...nonNegative(`status.${k}`, st[k]));
    return errs;
  },
  fields: (job) => ({ 'status.successful': String(job?.status?.succeeded ?? 0) }),
});

// ---------- CronJob ----------

const CONCURRENCY = ['Allow', 'Forbid', 'Replace'];

function validateCronJob(cj: any): FieldError[] {
  const spec = cj?.spec ?? {};
  const errs: FieldError[] = [];
  const name = String(cj?.metadata?.name ?? '');
  if (name.length > 52) errs.push(invalid('metadata.name', name, 'must be no more than 52 characters'));
  if (!spec.schedule) errs.push(required('spec.schedule'));
  else if (/^\s*(CRON_)?TZ=/.test(spec.schedule)) {
    errs.push(
      invalid('spec.schedule', spec.schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'),
    );
  } else {
    const err = cronScheduleError(String(spec.schedule));
    if (err) errs.push(invalid('spec.schedule', spec.schedule, err));
  }
  if (!spec.concurrencyPolicy) errs.push(required('spec.concurrencyPolicy'));
  else if (!CONCURRENCY.includes(spec.concurrencyPolicy))
    errs.push(notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy, CONCURRENCY));
  if (!unset(spec.timeZone)) {
    if (!validTimeZone(String(spec.timeZone)))
      errs.push(invalid('spec.timeZone', spec.timeZone, 'unknown time zone ' + spec.timeZone));
  }
  for (const k of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'])
    errs.push(...nonNegative(`spec.${k}`, spec[k]));
  const jt = spec.jobTemplate ?? {};
  errs.push(...validateJobSpecCommon(jt.spec ?? {}, 'spec.jobTemplate.spec'));
  if (jt.spec?.manualSelector === true)
    errs.push(invalid('spec.jobTemplate.spec.manualSelector', true, 'true is not supported when used in a CronJob'));
  return errs;
}

function validTimeZone(tz: string): boolean {
  if (tz === '' || tz === 'Local') return tz !== 'Local';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const cronJobStrategy = makeStrategy({
  namespaced: true,
  defaults(cj) {
    const spec = (cj.spec ??= {});
    if (!spec.concurrencyPolicy) spec.concurrencyPolicy = 'Allow';
    if (unset(spec.suspend)) spec.suspend = false;
    if (unset(spec.successfulJobsHistoryLimit)) spec.successfulJobsHistoryLimit = 3;
    if (unset(spec.failedJobsHistoryLimit)) spec.failedJobsHistoryLimit = 1;
    const jt = (spec.jobTemplate ??= {});
    jt.spec ??= {};
    defaultPodTemplate(jt.spec.template);
  },
  validate: validateCronJob,
});
