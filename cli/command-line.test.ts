import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommandLine } from './command-line.ts';
import { COMMANDS, type Command, type CommandGroup } from './commands.ts';
import { valueName } from './flags.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** skiff ARGV through the entry's own function, its output captured */
async function skiff(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCommandLine(argv, { out: (t) => out.push(t), err: (t) => err.push(t) }, {});
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** every command with its words: ['server'], ['image', 'import'], ... */
function commands(): [string[], Command][] {
  const out: [string[], Command][] = [];
  const walk = (entries: Record<string, Command | CommandGroup>, words: string[]) => {
    for (const [name, e] of Object.entries(entries))
      if ('commands' in e) walk(e.commands, [...words, name]);
      else out.push([[...words, name], e]);
  };
  walk(COMMANDS, []);
  return out;
}

describe('skiff command line', () => {
  it('lists every flag of every command, with its value name, default and environment variable', async () => {
    const all = commands();
    assert.ok(all.length >= 9, `${all.length} commands`);
    for (const [words, cmd] of all) {
      for (const argv of [
        [...words, '--help'],
        ['help', ...words],
      ]) {
        const { code, out, err } = await skiff(...argv);
        const what = `skiff ${argv.join(' ')}`;
        assert.equal(code, 0, `${what}: ${err}`);
        assert.ok(out.startsWith(`Usage: skiff ${words.join(' ')} [flags]`), `${what}:\n${out}`);
        const entries = flagEntries(out);
        for (const [name, spec] of Object.entries(cmd.flags)) {
          const entry = entries.get(name);
          assert.ok(entry, `${what} lists --${name}:\n${out}`);
          if (spec.type !== 'boolean') assert.ok(entry.includes(`--${name} ${valueName(spec)} `), `${what}: ${entry}`);
          const d = spec.default;
          if (d !== undefined && d !== '' && d !== false && !(Array.isArray(d) && d.length === 0))
            assert.match(entry, new RegExp(`default ${escape(Array.isArray(d) ? d.join(',') : String(d))}[;)]`), what);
          if (spec.env) assert.match(entry, new RegExp(`env ${spec.env}[;)]`), what);
        }
      }
    }
  });

  it('lists the commands, and those of a group', async () => {
    const top = await skiff('--help');
    assert.equal(top.code, 0);
    for (const name of Object.keys(COMMANDS)) assert.match(top.out, new RegExp(`^ {2}${escape(name)} `, 'm'));
    assert.deepEqual(await skiff('help'), top);
    // skiff alone shows the same and fails, as a command line without a command
    assert.deepEqual(await skiff(), { ...top, code: 1 });
    for (const argv of [['image'], ['image', '--help'], ['help', 'image']]) {
      const r = await skiff(...argv);
      assert.equal(r.code, 0, argv.join(' '));
      assert.match(r.out, /^Usage: skiff image <command>/);
      assert.match(r.out, /^ {2}build-busybox /m);
      assert.match(r.out, /^ {2}import /m);
    }
  });

  it('fails with exit code 2 naming the command, its flags and its help for an unknown flag', async () => {
    const r = await skiff('server', '--prot', '6443');
    assert.equal(r.code, 2);
    assert.match(
      r.err,
      /^skiff server: unknown flag --prot \(known flags: --port, --data-dir, .*\); see skiff server --help$/,
    );
    const sub = await skiff('image', 'import', 'x.tar', '--crisocket', '/run/c.sock');
    assert.equal(sub.code, 2);
    assert.equal(
      sub.err,
      'skiff image import: unknown flag --crisocket (known flags: --cri-socket, --data-dir); see skiff image import --help',
    );
  });

  it('says which flag needs a value', async () => {
    const r = await skiff('image', 'import', 'x.tar', '--data-dir');
    assert.deepEqual(r, {
      code: 2,
      out: '',
      err: 'skiff image import: flag --data-dir needs a value (DIR); see skiff image import --help',
    });
    const n = await skiff('why-pending', 'web', '-n');
    assert.equal(n.err, 'skiff why-pending: flag -n needs a value (NAMESPACE); see skiff why-pending --help');
  });

  it('names unknown commands and a missing argument', async () => {
    assert.deepEqual(await skiff('serve'), {
      code: 2,
      out: '',
      err: `skiff: unknown command "serve" (known commands: ${Object.keys(COMMANDS).join(', ')}); see skiff --help`,
    });
    const sub = await skiff('image', 'export');
    assert.equal(sub.code, 2);
    assert.equal(
      sub.err,
      'skiff image: unknown command "export" (known commands: build-busybox, import); see skiff image --help',
    );
    assert.equal((await skiff('help', 'nope')).code, 2);
    assert.equal((await skiff('help', 'server', 'nope')).code, 2);
    assert.equal(
      (await skiff('image', 'import', '--cri-socket', '/run/c.sock')).err,
      'skiff image import: needs a FILE.tar; see skiff image import --help',
    );
  });

  it('runs a command with its flags after its arguments, and reports its failure with exit code 1', async () => {
    const missing = path.join(ROOT, 'no-such-image.tar');
    const r = await skiff('image', 'import', missing, '--cri-socket', '/run/none.sock');
    assert.deepEqual(r, { code: 1, out: '', err: `skiff image import: ${missing}: no such file` });
  });

  it('answers through bin/skiff with the same words and exit codes', () => {
    const env = { ...process.env, SKIFF_FROM_SOURCE: '1' };
    const help = spawnSync(path.join(ROOT, 'bin/skiff'), ['help', 'image', 'import'], { encoding: 'utf8', env });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: skiff image import \[flags\] FILE\.tar\.\.\./);
    assert.match(help.stdout, /--data-dir DIR .*\(env SKIFF_DATA_DIR\)/);
    const bad = spawnSync(path.join(ROOT, 'bin/skiff'), ['server', '--prot', '1'], { encoding: 'utf8', env });
    assert.equal(bad.status, 2);
    assert.match(
      bad.stderr,
      /^skiff server: unknown flag --prot \(known flags: --port, .*; see skiff server --help\n$/,
    );
  });
});

/** the help of each flag by name, its wrapped lines joined */
function flagEntries(help: string): Map<string, string> {
  const entries = new Map<string, string>();
  let current: string | undefined;
  for (const line of help.split('\n')) {
    const flag = /^ {2}(?:-\w, | {4})--(?:\[no-\])?([\w-]+)/.exec(line);
    if (flag) entries.set((current = flag[1]), line.trim());
    else if (current && /^ {6,}\S/.test(line)) entries.set(current, `${entries.get(current)} ${line.trim()}`);
    else current = undefined;
  }
  return entries;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
