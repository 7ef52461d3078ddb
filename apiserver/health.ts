/** /healthz, /livez and /readyz with Kubernetes' verbose output; readiness follows the store and the watch cache. */
import type { Backend } from './storage/backend.ts';
import type { Dispatcher } from './watchcache/dispatcher.ts';

export interface Check {
  name: string;
  run(): Promise<void>;
}

export function storeCheck(backend: Backend): Check {
  let last = 0;
  let lastErr: Error | undefined;
  return {
    name: 'etcd',
    async run() {
      // at most one probe of the store per second, however often readiness is asked
      if (Date.now() - last > 1000) {
        last = Date.now();
        try {
          await Promise.race([
            backend.ping(),
            new Promise((_, rej) =>
              setTimeout(() => rej(new Error('the store did not answer within 2s')), 2000).unref(),
            ),
          ]);
          lastErr = undefined;
        } catch (e) {
          lastErr = e as Error;
        }
      }
      if (lastErr) throw lastErr;
    },
  };
}

export function cacheCheck(d: Dispatcher): Check {
  return {
    name: 'watch-cache',
    async run() {
      if (!d.ready) throw new Error('the watch cache is not synchronized with the store');
    },
  };
}

/** log output not yet written that makes the log check fail: the reader of the server's output has stopped reading */
export const LOG_BACKLOG_LIMIT = 8 * 1024 * 1024;

/** the log check: fails while more than LOG_BACKLOG_LIMIT bytes of log output wait to be written (a blocked pipe) */
export function logCheck(out: { writableLength: number } = process.stdout): Check {
  return {
    name: 'log',
    async run() {
      const waiting = out.writableLength;
      if (waiting > LOG_BACKLOG_LIMIT)
        throw new Error(`logging is blocked: ${waiting} bytes of log output wait to be written`);
    },
  };
}

/** the checks every health endpoint has: the server answers (ping: it does, by answering), and its logging is not stuck */
export const BASIC_CHECKS: Check[] = [{ name: 'ping', async run() {} }, logCheck()];

/** runs `checks` for the endpoint named `endpoint` (healthz, livez, readyz), in Kubernetes' words */
export async function runChecks(
  endpoint: string,
  checks: Check[],
  verbose: boolean,
): Promise<{ ok: boolean; body: string }> {
  const lines: string[] = [];
  let ok = true;
  for (const c of checks) {
    try {
      await c.run();
      lines.push(`[+]${c.name} ok`);
    } catch (e) {
      ok = false;
      lines.push(`[-]${c.name} failed: ${(e as Error).message}`);
    }
  }
  if (!verbose && ok) return { ok, body: 'ok' };
  lines.push(`${endpoint} check ${ok ? 'passed' : 'failed'}`);
  return { ok, body: lines.join('\n') + '\n' };
}
