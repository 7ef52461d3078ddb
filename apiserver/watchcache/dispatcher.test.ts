import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFieldSelector, parseLabelSelector } from '../../lib/selectors.ts';
import { openBackend } from '../storage/index.ts';
import type { Backend } from '../storage/backend.ts';
import { ResourceCache } from './cache.ts';
import { Dispatcher } from './dispatcher.ts';

const thing = (name: string) => JSON.stringify({ metadata: { name, namespace: 'ns' } });
const cacheFor = (prefix: string) => new ResourceCache(prefix, { selectableFields: () => ({}) });

async function withBackend(fn: (backend: Backend) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-dispatcher-'));
  const backend = openBackend('', { dataDir: dir });
  await backend.start();
  try {
    await fn(backend);
  } finally {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('a watch cache added after the start', () => {
  it('holds what the store had, and what was written while it was being listed, then follows the store', async () => {
    await withBackend(async (backend) => {
      let dispatcher: Dispatcher | undefined;
      // the list of the added prefix happens after a write the dispatcher has seen: its event comes while filling
      const listing: Backend = Object.create(backend);
      listing.list = async (prefix, opts) => {
        if (prefix === '/registry/things/') {
          const { revision } = await backend.create('/registry/things/ns/during', thing('during'));
          assert.ok(await dispatcher!.waitFor(revision, 2000));
        }
        return backend.list(prefix, opts);
      };
      dispatcher = new Dispatcher(listing);
      dispatcher.register(cacheFor('/registry/pods/'));
      await dispatcher.start();
      await backend.create('/registry/things/ns/before', thing('before'));
      const things = cacheFor('/registry/things/');
      await dispatcher.add(things);
      assert.deepEqual([...things.items.keys()].sort(), ['/registry/things/ns/before', '/registry/things/ns/during']);
      assert.equal(things.rev, dispatcher.rev);
      const { revision } = await backend.create('/registry/things/ns/after', thing('after'));
      assert.ok(await dispatcher.waitFor(revision, 2000));
      assert.ok(things.get('/registry/things/ns/after'));
      dispatcher.stop();
    });
  });

  it('is no longer fed once removed, and its watchers are ended', async () => {
    await withBackend(async (backend) => {
      const dispatcher = new Dispatcher(backend);
      await dispatcher.start();
      const things = cacheFor('/registry/things/');
      await dispatcher.add(things);
      const ended: string[] = [];
      things.addWatcher({
        filter: { labels: parseLabelSelector(''), fields: parseFieldSelector('') },
        deliver: () => {},
        terminate: (reason) => void ended.push(reason ?? ''),
      });
      dispatcher.remove(things, 'things are no longer served');
      assert.deepEqual(ended, ['things are no longer served']);
      const { revision } = await backend.create('/registry/things/ns/late', thing('late'));
      assert.ok(await dispatcher.waitFor(revision, 2000));
      assert.equal(things.get('/registry/things/ns/late'), undefined);
      dispatcher.stop();
    });
  });
});
