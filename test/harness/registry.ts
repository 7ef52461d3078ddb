/**
 * A real image registry for tests: Debian's docker-registry (distribution) on 127.0.0.1 with storage in a temporary
 * folder, and `push` of an OCI archive with skopeo (digests kept). stop() kills it and removes the folder.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface Registry {
  /** host:port */
  host: string;
  /** copies the image of an OCI archive (the entry whose ref.name is `tag`, when it holds several) to host/ref */
  push(archive: string, ref: string, tag?: string): void;
  stop(): Promise<void>;
}

export function registryMissing(): string | undefined {
  if (!existsSync(REGISTRY_BIN)) return 'docker-registry is not installed (apt-get install -y docker-registry)';
  if (!existsSync('/usr/bin/skopeo')) return 'skopeo is not installed (apt-get install -y skopeo)';
  return undefined;
}

export async function startRegistry(): Promise<Registry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: ${host}\n`,
  );
  const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // generous: a process starting on a loaded machine; one answering early ends the wait
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) break;
    } catch {
      /* not yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not answer on ${host}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    push(archive: string, ref: string, tag?: string) {
      execFileSync(
        'skopeo',
        [
          'copy',
          '--quiet',
          '--dest-tls-verify=false',
          `oci-archive:${archive}${tag ? `:${tag}` : ''}`,
          `docker://${host}/${ref}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
    },
    async stop() {
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
