/** Other skiff roles as child processes for end-to-end tests (sim-nodes, controller-manager, scheduler), killed by PID. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './skiff.ts';

export interface RoleProcess {
  child: ChildProcess;
  output(): string;
  /** resolves when the output contains the text */
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
    async waitFor(text, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      const has = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      while (!has()) {
        if (child.exitCode !== null)
          throw new Error(`skiff ${args[0]} exited (code ${child.exitCode}) before printing ${text}:\n${out}`);
        if (Date.now() > end) throw new Error(`skiff ${args[0]} did not print ${text} in ${timeoutMs} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill9() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
