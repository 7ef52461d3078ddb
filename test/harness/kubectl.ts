/** Run the real kubectl against a test server. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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
    timeout: opts.timeoutMs ?? 30_000,
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

/** kubectl without blocking the test's event loop (for long waits such as rollout status) */
export function kubectlAsync(
  kubeconfig: string,
  args: string[],
  opts: { input?: string; bin?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = spawn(opts.bin ?? KUBECTL_DEFAULT, ['--kubeconfig', kubeconfig, ...args], {
      env: { ...process.env, KUBECONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    if (opts.input) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
