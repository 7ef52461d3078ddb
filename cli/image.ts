/**
 * skiff image: images without a registry. `build-busybox` builds the pause and busybox images reproducibly from the
 * host's packages; `import` loads an OCI (or docker) image archive into a node's containerd, where pods find it.
 */
import path from 'node:path';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { buildBusyboxImage, buildPauseImage, importImage } from '../node-agent/images/builtin.ts';
import { parseFlags, type FlagSpec } from './flags.ts';

const SOCKET_FLAGS: FlagSpec[] = [
  { name: 'cri-socket', help: "containerd socket to import into (default: the local node agent's)", default: '' },
  {
    name: 'data-dir',
    help: 'data folder of the skiff server or agent whose containerd gets the image',
    env: 'SKIFF_DATA_DIR',
    default: '',
  },
];

/** The containerd socket of the node agent on this host: `skiff server`'s, else `skiff agent`'s default. */
function socketFor(f: Record<string, string>): string | undefined {
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
  return candidates.find((c) => existsSync(c));
}

async function buildBusybox(args: string[]): Promise<void> {
  const f = parseFlags(
    args,
    [
      { name: 'out', help: 'folder the image archives are written to', default: 'images' },
      { name: 'import', help: "also import them into the local node's containerd", boolean: true },
      ...SOCKET_FLAGS,
    ],
    'image build-busybox',
  );
  const out = path.resolve(f.out);
  for (const img of [buildPauseImage(out), buildBusyboxImage(out)]) {
    console.log(`${img.name}\t${img.manifestDigest}\t${img.file}`);
    if (f.import === 'true') {
      const socket = socketFor(f);
      if (!socket)
        throw new Error('no containerd socket found: is a skiff server or agent running here? (or pass --cri-socket)');
      importImage(socket, img.file);
      console.log(`  imported into ${socket}`);
    }
  }
}

async function importCommand(args: string[]): Promise<void> {
  const files = args.filter((a) => !a.startsWith('--'));
  const f = parseFlags(
    args.filter((a) => a.startsWith('--')),
    SOCKET_FLAGS,
    'image import FILE.tar...',
  );
  if (!files.length)
    throw new Error('usage: skiff image import FILE.tar [FILE.tar...] [--cri-socket S | --data-dir D]');
  const socket = socketFor(f);
  if (!socket)
    throw new Error('no containerd socket found: is a skiff server or agent running here? (or pass --cri-socket)');
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`${file}: no such file`);
    importImage(socket, path.resolve(file));
    console.log(`imported ${file} into ${socket}`);
  }
}

export async function imageCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'build-busybox') return buildBusybox(rest);
  if (sub === 'import') return importCommand(rest);
  console.log(
    'Usage: skiff image build-busybox [--out DIR] [--import]\n       skiff image import FILE.tar [--cri-socket S | --data-dir D]',
  );
  if (sub && sub !== '--help' && sub !== '-h') throw new Error(`unknown image command "${sub}"`);
}
