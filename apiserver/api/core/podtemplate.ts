/**
 * core/v1 PodTemplates: a named pod template, stored for others to use. Validated and defaulted as the templates of
 * the workload controllers are; a change of the template bumps metadata.generation.
 */
import { makeStrategy } from '../common.ts';
import { defaultPodTemplate } from './pod-defaults.ts';
import { validatePodTemplateSpec } from './pod-validation.ts';

export const podTemplateStrategy = makeStrategy({
  namespaced: true,
  defaults(pt) {
    defaultPodTemplate(pt?.template);
  },
  validate: (pt) => validatePodTemplateSpec(pt?.template, 'template'),
});
