import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cronJobStrategy, jobStrategy } from './batch.ts';
import { cronScheduleError } from './cron-schedule.ts';
import { hpaStrategy } from '../autoscaling/hpa.ts';
import { fieldErrorString } from '../status-errors.ts';

const s = (errs: any[]) => errs.map(fieldErrorString);
const tmpl = (restartPolicy?: string) => ({ spec: { restartPolicy, containers: [{ name: 'c', image: 'busybox' }] } });

test('jobs: defaults and generated selector', () => {
  const job: any = { metadata: { name: 'pi', namespace: 'd', uid: 'uid-1' }, spec: { template: tmpl('Never') } };
  jobStrategy.defaults(job);
  assert.equal(job.spec.completions, 1);
  assert.equal(job.spec.parallelism, 1);
  assert.equal(job.spec.backoffLimit, 6);
  assert.equal(job.spec.completionMode, 'NonIndexed');
  assert.equal(job.spec.suspend, false);
  assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
  assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'uid-1' } });
  assert.deepEqual(job.spec.template.metadata.labels, {
    'job-name': 'pi',
    'batch.kubernetes.io/job-name': 'pi',
    'controller-uid': 'uid-1',
    'batch.kubernetes.io/controller-uid': 'uid-1',
  });
  assert.deepEqual(jobStrategy.validate(job), []);
  assert.deepEqual(jobStrategy.selectableFields({ ...job, status: { succeeded: 2 } })['status.successful'], '2');
});

test('jobs: validation and updates', () => {
  const job: any = { metadata: { name: 'pi', namespace: 'd', uid: 'u' }, spec: { template: tmpl() } };
  jobStrategy.defaults(job);
  assert.deepEqual(s(jobStrategy.validate(job)), [
    'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  ]);
  const ok: any = {
    metadata: { name: 'pi', namespace: 'd', uid: 'u' },
    spec: { template: tmpl('OnFailure'), parallelism: -1 },
  };
  jobStrategy.defaults(ok);
  assert.deepEqual(s(jobStrategy.validate(ok)), [
    'spec.parallelism: Invalid value: -1: must be greater than or equal to 0',
  ]);
  ok.spec.parallelism = 1;
  ok.metadata.resourceVersion = '1';
  const upd = structuredClone(ok);
  upd.spec.parallelism = 3;
  assert.deepEqual(jobStrategy.validateUpdate(upd, ok), []);
  upd.spec.template.spec.containers[0].image = 'other';
  assert.deepEqual(s(jobStrategy.validateUpdate(upd, ok)), [
    'spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable',
  ]);
});

test('cronjobs', () => {
  const cj: any = {
    metadata: { name: 'hello', namespace: 'd' },
    spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: tmpl('OnFailure') } } },
  };
  cronJobStrategy.defaults(cj);
  assert.equal(cj.spec.concurrencyPolicy, 'Allow');
  assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
  assert.equal(cj.spec.failedJobsHistoryLimit, 1);
  assert.equal(cj.spec.suspend, false);
  assert.deepEqual(cronJobStrategy.validate(cj), []);
  const bad = structuredClone(cj);
  bad.spec.schedule = '61 * * * *';
  bad.spec.concurrencyPolicy = 'Sometimes';
  assert.deepEqual(s(cronJobStrategy.validate(bad)), [
    'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
    'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
  ]);
  assert.equal(cronScheduleError('@hourly'), undefined);
  assert.equal(cronScheduleError('0 0 * * MON-FRI'), undefined);
  assert.equal(cronScheduleError('* * *'), 'expected exactly 5 fields, found 3: * * *');
});

test('horizontal pod autoscalers', () => {
  const hpa: any = {
    apiVersion: 'autoscaling/v2',
    metadata: { name: 'h', namespace: 'd' },
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 5 },
  };
  hpaStrategy.defaults(hpa);
  assert.equal(hpa.spec.minReplicas, 1);
  assert.deepEqual(hpa.spec.metrics, [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
  ]);
  assert.deepEqual(hpaStrategy.validate(hpa), []);
  const bad = structuredClone(hpa);
  bad.spec.minReplicas = 6;
  assert.deepEqual(s(hpaStrategy.validate(bad)), [
    'spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`',
  ]);
});
