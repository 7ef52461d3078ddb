/** Run the real kubectl against a test server. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { eventually } from './eventually.ts';

export const KUBECTL_DEFAULT = '/usr/bin/kubectl';
export const KUBECTL_127 = '/usr/lib/google-cloud-sdk/bin/kubectl.1.27';

export function hasKubectl(bin = KUBECTL_DEFAULT): boolean {
  return existsSync(bin);
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(
  kubeconfig: string,
  args: string[],
  opts: { input?: string; bin?: string; timeoutMs?: number } = {},
): KubectlResult {
  const r = spawnSync(opts.bin ?? KUBECTL_DEFAULT, ['--kubeconfig', kubeconfig, ...args], {
    input: opts.input,
    encoding: 'utf8',
    // ends a kubectl that hangs; a slow one on a loaded machine still finishes
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, KUBECONFIG: '' },
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** kubectl that must succeed; the error shows the command and its output */
export function kubectlOk(kubeconfig: string, args: string[], opts: { input?: string; bin?: string } = {}): string {
  const r = kubectl(kubeconfig, args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A kubectl still running: what it has printed so far, a way to end it, and its result once it ends. */
export interface RunningKubectl {
  stdout(): string;
  stderr(): string;
  /** resolves once kubectl has printed the text (on stdout, or stderr); fails at once if kubectl ends without it */
  printed(text: string | RegExp, opts?: { stderr?: boolean; timeoutMs?: number }): Promise<void>;
  kill(): void;
  done: Promise<KubectlResult>;
}

/** kubectl started in the background, for commands that follow (logs -f, attach, port-forward) while the test acts */
export function kubectlStart(
  kubeconfig: string,
  args: string[],
  opts: { input?: string; bin?: string; timeoutMs?: number } = {},
): RunningKubectl {
  const child = spawn(opts.bin ?? KUBECTL_DEFAULT, ['--kubeconfig', kubeconfig, ...args], {
    env: { ...process.env, KUBECONFIG: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // the timeout only ends a kubectl the test forgot; tests wait for what kubectl prints, not for this
  const timer = setTimeout(kill, opts.timeoutMs ?? 120_000);
  const done = new Promise<KubectlResult>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    }),
  );
  if (opts.input) child.stdin.end(opts.input);
  else child.stdin.end();
  let ended: KubectlResult | undefined;
  void done.then((r) => (ended = r));
  const has = (text: string | RegExp, out: string) => (typeof text === 'string' ? out.includes(text) : text.test(out));
  const printed = async (text: string | RegExp, o: { stderr?: boolean; timeoutMs?: number } = {}) => {
    const what = `kubectl ${args.join(' ')} printed ${text}`;
    await eventually(
      what,
      () => {
        if (has(text, o.stderr ? stderr : stdout)) return true;
        if (ended) throw new Error(`kubectl ended first (code ${ended.code}): ${ended.stdout}${ended.stderr}`);
        return false;
      },
      o.timeoutMs ?? 60_000,
      { failFast: true },
    ).catch((e: unknown) => {
      kill();
      throw new Error(`${(e as Error).message}\nso far: ${stdout}${stderr}`);
    });
  };
  return { stdout: () => stdout, stderr: () => stderr, printed, kill, done };
}

/** kubectl without blocking the test's event loop (for long waits such as rollout status) */
export function kubectlAsync(
  kubeconfig: string,
  args: string[],
  opts: { input?: string; bin?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return kubectlStart(kubeconfig, args, opts).done;
}
