#!/usr/bin/env node
// The skiff command. Runs the compiled JavaScript in dist/ (scripts/compile.mjs; the set-up of `npm start` and
// `npm test` compiles) while it matches the sources, else the TypeScript sources through tsx. SKIFF_FROM_SOURCE=1
// always runs the sources.
import { pathToFileURL } from 'node:url';
import { freshDist } from '../scripts/compile.mjs';

const dist = process.env.SKIFF_FROM_SOURCE ? undefined : freshDist();
if (dist) {
  await import(pathToFileURL(`${dist}/cli/main.js`).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
