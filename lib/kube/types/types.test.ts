import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Deployment, DeploymentStatus } from './apps-v1.ts';
import type { Container, ContainerStatus, Pod } from './core-v1.ts';

interface Generator {
  OUT_DIR: string;
  generate(): Promise<Map<string, string>>;
}

// a path the compiler does not resolve: the generator is plain JavaScript
const GENERATOR = new URL('../../../scripts/gen-types.mjs', import.meta.url).href;

test('the generated types are those the API model gives (run node scripts/gen-types.mjs after changing it)', async () => {
  const { generate, OUT_DIR } = (await import(GENERATOR)) as Generator;
  const files = await generate();
  const onDisk = readdirSync(OUT_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.deepEqual(onDisk.sort(), [...files.keys()].sort(), 'the files in lib/kube/types/');
  for (const [name, text] of files) {
    assert.equal(readFileSync(path.join(OUT_DIR, name), 'utf8'), text, `lib/kube/types/${name} is not up to date`);
  }
});

test('fields are optional as Go writes them: required unless omitempty, metadata of a kind always', () => {
  // these values type-check only with Go's optionality: a Container needs only its name, a status nothing
  const c: Container = { name: 'app' };
  const cs: ContainerStatus = { name: 'app', ready: false, restartCount: 0, image: 'busybox', imageID: '' };
  const st: DeploymentStatus = {};
  const d: Deployment = {
    metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [c] } } },
    status: st,
  };
  const p: Pod = { metadata: { name: 'p' }, spec: { containers: [c] }, status: { containerStatuses: [cs] } };
  assert.equal(d.spec?.template.spec?.containers[0].name, 'app');
  assert.equal(p.status?.containerStatuses?.[0].ready, false);
});
