#!/usr/bin/env node
// Set-up run before `npm start` and `npm test`: npm dependencies, then the Debian packages the mode needs.
// Installs what it can (as root on Debian/Ubuntu, with apt-get's own progress) and says exactly what is missing otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'start';

/** what the node agent needs to run real pods: containerd + runc, the CNI plugins, iptables, and what builds the
 * pause and busybox images (gcc with a static libc, busybox-static) */
const NODE = [
  ['containerd', '/usr/bin/containerd'],
  ['runc', '/usr/sbin/runc'],
  ['containernetworking-plugins', '/usr/lib/cni/bridge'],
  ['iptables', '/usr/sbin/iptables'],
  ['conntrack', '/usr/sbin/conntrack'],
  ['busybox-static', '/bin/busybox', () => isStatic('/bin/busybox')],
  ['gcc', '/usr/bin/gcc'],
  ['libc6-dev', '/usr/include/stdio.h'],
  // the memory allocator skiff's processes run with (bin/with-allocator, docs/adr/0008-jemalloc.md)
  ['libjemalloc2', `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libjemalloc.so.2`],
];

/** Debian packages per mode: [package, a file it provides, optionally a check of that file] */
const PACKAGES = {
  start: NODE,
  test: [
    ...NODE,
    ['etcd-server', '/usr/bin/etcd'],
    ['redis-server', '/usr/bin/redis-server'],
    ['docker-registry', '/usr/bin/docker-registry'],
    ['skopeo', '/usr/bin/skopeo'],
    ['dnsutils', '/usr/bin/dig'],
  ],
  // npm run bench: load generators and the reference DNS server
  bench: [
    ...NODE,
    ['wrk', '/usr/bin/wrk'],
    ['dnsperf', '/usr/bin/dnsperf'],
    ['knot', '/usr/sbin/knotd'],
    ['dnsutils', '/usr/bin/dig'],
  ],
};

/** an ELF executable without a program interpreter (PT_INTERP): statically linked */
function isStatic(file) {
  try {
    const b = readFileSync(file);
    const phoff = Number(b.readBigUInt64LE(0x20));
    const phentsize = b.readUInt16LE(0x36);
    const phnum = b.readUInt16LE(0x38);
    for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false;
    return true;
  } catch {
    return false;
  }
}

function say(msg) {
  console.log(`[skiff setup] ${msg}`);
}

function npmDependencies() {
  const lock = path.join(root, 'package-lock.json');
  const manifest = path.join(root, 'package.json');
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const hasLock = existsSync(lock);
  const newest = Math.max(statSync(manifest).mtimeMs, hasLock ? statSync(lock).mtimeMs : 0);
  if (existsSync(marker) && statSync(marker).mtimeMs >= newest) return;
  // with a lockfile: exactly the versions it pins (npm ci refuses a lockfile that disagrees with package.json)
  const args = hasLock ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
  say(`installing npm dependencies (npm ${args[0]})...`);
  const r = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(
      hasLock
        ? '[skiff setup] npm ci could not install the dependencies: see its output above (is the npm registry reachable? if it says package.json and package-lock.json are not in sync, run npm install and commit the lockfile)'
        : '[skiff setup] npm could not install the dependencies: see its output above (is the npm registry reachable?)',
    );
    process.exit(1);
  }
}

function debianPackages() {
  const missing = (PACKAGES[mode] ?? [])
    .filter(([, file, check]) => !existsSync(file) || (check && !check()))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get') && existsSync('/etc/debian_version');
  if (!isRoot || !hasApt) {
    console.error(`[skiff setup] missing Debian packages: ${missing.join(' ')}`);
    console.error(`[skiff setup] install them with: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(' ')} (apt-get)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  if (r.status !== 0) say('apt-get update failed; trying the install with the current package lists');
  r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`[skiff setup] apt-get could not install: ${missing.join(' ')} (see above)`);
    process.exit(1);
  }
  // Debian starts the packaged services; skiff runs its own instances, so stop the system ones
  // (a packaged containerd may keep running: each node agent runs its own on its own socket)
  for (const [svc, kill] of [
    ['etcd', true],
    ['docker-registry', false],
    ['knot', false],
  ]) {
    if (!missing.includes(svc === 'etcd' ? 'etcd-server' : svc)) continue;
    try {
      execFileSync('sh', [
        '-c',
        `command -v systemctl >/dev/null && systemctl disable --now ${svc} >/dev/null 2>&1 || true;${kill ? ` pkill -x ${svc} || true` : ''}`,
      ]);
    } catch {
      /* nothing to stop */
    }
  }
}

function kubectl() {
  if (mode !== 'test') return;
  if (!existsSync('/usr/bin/kubectl')) {
    console.error(
      '[skiff setup] kubectl is not installed: the end-to-end tests drive the API with real kubectl (install kubectl 1.27 or newer)',
    );
    process.exit(1);
  }
}

npmDependencies();
debianPackages();
kubectl();
await compileSources();

/** the compiled JavaScript bin/skiff.mjs runs (it falls back to the sources when these are older) */
async function compileSources() {
  const { compile, freshDist } = await import('./compile.mjs');
  if (freshDist()) return;
  const t = Date.now();
  try {
    const { files } = await compile();
    say(`compiled ${files} source files to dist/ in ${Date.now() - t} ms`);
  } catch (e) {
    // skiff still runs, from the sources
    say(`could not compile to dist/ (skiff will run its TypeScript sources directly): ${e.message}`);
  }
}
