/**
 * skiff image: images without a registry. `build-busybox` builds the pause and busybox images reproducibly from the
 * host's packages; `import` loads an OCI (or docker) image archive into a node's containerd, where pods find it.
 */
import path from 'node:path';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { buildBusyboxImage, buildPauseImage, importImage } from '../node-agent/images/builtin.ts';
import type { Flags } from './flags.ts';
import type { IMAGE_BUILD_FLAGS, IMAGE_SOCKET_FLAGS } from './flag-tables.ts';

/** The containerd socket of the node agent on this host: `skiff server`'s, else `skiff agent`'s default. */
function socketFor(f: Flags<typeof IMAGE_SOCKET_FLAGS>): string {
  if (f['cri-socket']) return f['cri-socket'];
  const candidates = f['data-dir']
    ? [
        path.join(f['data-dir'], 'agent', 'containerd', 'containerd.sock'),
        path.join(f['data-dir'], 'containerd', 'containerd.sock'),
      ]
    : [
        path.join(os.homedir(), '.skiff', 'agent', 'containerd', 'containerd.sock'),
        '/var/lib/skiff-agent/containerd/containerd.sock',
      ];
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new Error('no containerd socket found: is a skiff server or agent running here? (or pass --cri-socket)');
  return found;
}

export async function buildBusyboxCommand(f: Flags<typeof IMAGE_BUILD_FLAGS>): Promise<void> {
  const out = path.resolve(f.out);
  for (const img of [buildPauseImage(out), buildBusyboxImage(out)]) {
    console.log(`${img.name}\t${img.manifestDigest}\t${img.file}`);
    if (f.import) {
      const socket = socketFor(f);
      importImage(socket, img.file);
      console.log(`  imported into ${socket}`);
    }
  }
}

export async function importCommand(f: Flags<typeof IMAGE_SOCKET_FLAGS>, files: string[]): Promise<void> {
  const socket = socketFor(f);
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`${file}: no such file`);
    importImage(socket, path.resolve(file));
    console.log(`imported ${file} into ${socket}`);
  }
}
