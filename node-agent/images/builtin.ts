/**
 * The two images skiff builds for itself from Debian's packages, so it needs no registry: the pause image every pod
 * sandbox runs (a small static C program beside this file) and a busybox image (busybox-static with one link per applet).
 * `importImage` loads an OCI archive into a containerd's CRI namespace (k8s.io) with ctr.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImageArchive, type BuiltImage } from './oci.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PAUSE_IMAGE = 'skiff.local/pause:1.0';
export const BUSYBOX_BINARY = '/bin/busybox';

function missing(what: string, pkg: string): Error {
  return new Error(`${what} is missing; install it with: apt-get install -y ${pkg}`);
}

function withFolder<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-rootfs-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function buildPauseImage(outDir: string): BuiltImage {
  return withFolder((dir) => {
    const rootfs = path.join(dir, 'rootfs');
    mkdirSync(rootfs);
    chmodSync(rootfs, 0o755);
    try {
      execFileSync('gcc', ['-Os', '-static', '-s', '-o', path.join(rootfs, 'pause'), path.join(HERE, 'pause.c')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
      if (err.code === 'ENOENT') throw missing('gcc (to build the pause image)', 'gcc libc6-dev');
      throw new Error(
        `building the pause program failed: ${err.stderr?.toString() ?? err.message} (needs: apt-get install -y gcc libc6-dev)`,
        { cause: e },
      );
    }
    chmodSync(path.join(rootfs, 'pause'), 0o755);
    return buildImageArchive(rootfs, PAUSE_IMAGE, { Entrypoint: ['/pause'] }, path.join(outDir, 'pause.tar'));
  });
}

/** busybox's own version, e.g. 1.35.0, used as the image tag. */
export function busyboxVersion(): string {
  if (!existsSync(BUSYBOX_BINARY)) throw missing(`${BUSYBOX_BINARY} (busybox-static)`, 'busybox-static');
  const banner = execFileSync(BUSYBOX_BINARY, [], { encoding: 'utf8' }).split('\n')[0];
  return /v(\d+\.\d+\.\d+)/.exec(banner)?.[1] ?? 'latest';
}

export function busyboxImageName(): string {
  return `skiff.local/busybox:${busyboxVersion()}`;
}

/** the same image under major.minor (skiff.local/busybox:1.35): the name the examples use */
export function busyboxShortName(): string {
  return `skiff.local/busybox:${busyboxVersion().split('.').slice(0, 2).join('.')}`;
}

export function buildBusyboxImage(outDir: string): BuiltImage {
  const name = busyboxImageName();
  return withFolder((dir) => {
    const rootfs = path.join(dir, 'rootfs');
    for (const d of [
      'bin',
      'sbin',
      'usr/bin',
      'usr/sbin',
      'etc',
      'root',
      'home',
      'proc',
      'sys',
      'dev',
      'var/www',
      'var/run',
      'run',
    ]) {
      mkdirSync(path.join(rootfs, d), { recursive: true });
    }
    mkdirSync(path.join(rootfs, 'tmp'));
    chmodSync(path.join(rootfs, 'tmp'), 0o1777);
    chmodSync(path.join(rootfs, 'root'), 0o700);
    copyFileSync(BUSYBOX_BINARY, path.join(rootfs, 'bin/busybox'));
    chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
    const applets = execFileSync(BUSYBOX_BINARY, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const applet of applets) {
      const link = path.join(rootfs, applet);
      if (applet === 'bin/busybox' || existsSync(link)) continue;
      mkdirSync(path.dirname(link), { recursive: true });
      symlinkSync('/bin/busybox', link);
    }
    writeFileSync(
      path.join(rootfs, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
    );
    writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    writeFileSync(path.join(rootfs, 'var/www/index.html'), 'skiff busybox httpd\n');
    for (const f of ['etc/passwd', 'etc/group', 'var/www/index.html']) chmodSync(path.join(rootfs, f), 0o644);
    return buildImageArchive(
      rootfs,
      name,
      { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' },
      path.join(outDir, 'busybox.tar'),
      [busyboxShortName()],
    );
  });
}

/** Imports an OCI archive into the CRI image namespace of the containerd on `socket`. */
export function importImage(socket: string, file: string): void {
  try {
    execFileSync('ctr', ['--address', socket, '--namespace', 'k8s.io', 'images', 'import', '--no-unpack', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw missing('ctr (containerd client)', 'containerd');
    throw new Error(`ctr images import ${file} failed: ${err.stderr?.toString().trim() ?? err.message}`, { cause: e });
  }
}
