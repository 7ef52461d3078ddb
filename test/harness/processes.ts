/** Other skiff roles as child processes for end-to-end tests (sim-nodes, controller-manager, scheduler), killed by PID. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './skiff.ts';
import { eventually } from './eventually.ts';

export interface RoleProcess {
  child: ChildProcess;
  output(): string;
  /** resolves when the output contains the text (default wait 60 s: a process starting on a loaded machine) */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
});

export function startRole(args: string[], env: Record<string, string> = {}): RoleProcess {
  const child = spawn(path.join(ROOT, 'bin/skiff'), args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) =>
    child.on('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  return {
    child,
    output: () => out,
    async waitFor(text, timeoutMs = 60_000) {
      const has = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      await eventually(
        `skiff ${args[0]} printed ${text}`,
        () => {
          if (has()) return true;
          if (child.exitCode !== null) throw new Error(`exited (code ${child.exitCode}) first`);
          return false;
        },
        timeoutMs,
        { failFast: true },
      ).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}:\n${out}`, { cause: e });
      });
    },
    async kill9() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(t);
    },
  };
}
