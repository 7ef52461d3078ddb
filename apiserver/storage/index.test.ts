import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EtcdBackend, openBackend, SqliteBackend } from './index.ts';
import { parseEtcdUrl } from './etcd/etcd-backend.ts';

describe('openBackend', () => {
  it('defaults to the embedded store under the data directory', () => {
    for (const url of ['', 'sqlite://']) {
      const b = openBackend(url, { dataDir: '/var/lib/skiff' });
      assert.ok(b instanceof SqliteBackend);
      assert.equal(b.path, '/var/lib/skiff/db/state.db');
    }
  });

  it('opens a sqlite file given by an absolute path', () => {
    const b = openBackend('sqlite:///tmp/x/state.db', { dataDir: '/d' });
    assert.ok(b instanceof SqliteBackend);
    assert.equal(b.path, '/tmp/x/state.db');
    assert.throws(() => openBackend('sqlite://relative/state.db', { dataDir: '/d' }), /must be absolute/);
  });

  it('opens etcd with one or more endpoints', () => {
    assert.ok(openBackend('etcd://127.0.0.1:2379', { dataDir: '/d' }) instanceof EtcdBackend);
    assert.deepEqual(parseEtcdUrl('etcd://a:2379,b:2379').endpoints, ['a:2379', 'b:2379']);
    assert.throws(() => parseEtcdUrl('etcd://a'), /expected host:port/);
  });

  it('names the supported schemes for anything else', () => {
    assert.throws(
      () => openBackend('postgres://db/skiff', { dataDir: '/d' }),
      /supported schemes are sqlite:\/\/ and etcd:\/\//,
    );
  });
});
