/** Kubernetes' name and value formats (lib/validation/names.ts: shared with the label selector parser) */
export * from '../../../lib/validation/names.ts';
