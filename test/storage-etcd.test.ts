/** the storage contract against a real etcd (Debian's etcd-server) */
import { after, before } from 'node:test';
import { runBackendContract } from '../apiserver/storage/contract.ts';
import { EtcdBackend } from '../apiserver/storage/etcd/etcd-backend.ts';
import { startEtcd, type EtcdServer } from './harness/etcd.ts';

let etcd: EtcdServer | undefined;

before(async () => {
  etcd = await startEtcd();
});

after(async () => {
  await etcd?.stop();
});

runBackendContract('etcd', async () => {
  if (!etcd) throw new Error('etcd did not start');
  const backend = new EtcdBackend({ endpoints: [etcd.endpoint] });
  await backend.start();
  return { backend, cleanup: () => backend.close() };
});
