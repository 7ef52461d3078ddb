/**
 * Container logs as `kubectl logs` shows them, from the CRI log files the runtime writes
 * (`<RFC3339Nano> <stdout|stderr> <P|F> <text>`): partial lines joined as far as written, optional timestamps, sinceTime/sinceSeconds,
 * tailLines and limitBytes with Kubernetes' meaning, and follow, which keeps sending what the container writes until
 * it stops or the client goes away (fs.watch on the file, not polling).
 */
import { closeSync, openSync, readFileSync, readSync, watch, type FSWatcher } from 'node:fs';

export interface LogOptions {
  follow?: boolean;
  timestamps?: boolean;
  tailLines?: number;
  /** only entries at or after this time (ms since the epoch) */
  sinceMs?: number;
  limitBytes?: number;
}

export interface LogEntry {
  time: string;
  stream: string;
  /** the text with its newline (a partial line at the end of the file has none) */
  text: string;
}

/**
 * Parses CRI log lines into entries: P parts joined with the F that ends them; parts at the end that no F has ended
 * yet are an entry of their own without a newline (shown as they are, as Kubernetes shows partial lines).
 */
export function parseCriLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  let pending: LogEntry | undefined;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const a = line.indexOf(' ');
    const b = line.indexOf(' ', a + 1);
    const c = line.indexOf(' ', b + 1);
    if (a < 0 || b < 0) continue;
    const time = line.slice(0, a);
    const stream = line.slice(a + 1, b);
    const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
    const msg = c < 0 ? '' : line.slice(c + 1);
    if (!pending) pending = { time, stream, text: '' };
    pending.text += msg;
    if (tag.startsWith('F')) {
      pending.text += '\n';
      out.push(pending);
      pending = undefined;
    }
  }
  if (pending) out.push(pending);
  return out;
}

function timeMs(rfc3339nano: string): number {
  return Date.parse(rfc3339nano.replace(/(\.\d{3})\d*/, '$1'));
}

export interface LogSink {
  /** text, or bytes where limitBytes cut an entry (possibly inside a character, as Kubernetes' byte limit does) */
  write(chunk: string | Buffer): boolean;
  closed(): boolean;
}

/**
 * Writes the log of `file` to `sink`; with follow, keeps going until `running()` turns false and the file has
 * nothing more, or the sink closes. Resolves when done.
 */
export async function streamLog(file: string, opts: LogOptions, sink: LogSink, running: () => boolean): Promise<void> {
  let budget = opts.limitBytes && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
  const emit = (entries: LogEntry[]): boolean => {
    for (const e of entries) {
      if (opts.sinceMs !== undefined && timeMs(e.time) < opts.sinceMs) continue;
      const s = opts.timestamps ? `${e.time} ${e.text}` : e.text;
      if (budget === Infinity) {
        sink.write(s);
        continue;
      }
      // limitBytes counts bytes of the output, not characters
      const bytes = Buffer.byteLength(s);
      if (bytes <= budget) sink.write(s);
      else sink.write(Buffer.from(s).subarray(0, budget));
      budget -= Math.min(bytes, budget);
      if (budget <= 0) return false;
    }
    return true;
  };
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch {
    content = Buffer.alloc(0);
  }
  // only whole lines now; a line still being written comes with the follow
  const lastNl = content.lastIndexOf(0x0a);
  let offset = lastNl + 1;
  let entries = parseCriLog(content.subarray(0, offset).toString('utf8'));
  if (opts.tailLines !== undefined && opts.tailLines >= 0)
    entries = opts.tailLines === 0 ? [] : entries.slice(-opts.tailLines);
  if (!emit(entries) || !opts.follow) return;
  await new Promise<void>((resolve) => {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(timer);
      resolve();
    };
    const readMore = () => {
      if (done) return;
      if (sink.closed()) return finish();
      let fd: number;
      try {
        fd = openSync(file, 'r');
      } catch {
        return finish();
      }
      try {
        const buf = Buffer.alloc(64 * 1024);
        let chunk = Buffer.alloc(0);
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, offset + chunk.length);
          if (n <= 0) break;
          chunk = Buffer.concat([chunk, buf.subarray(0, n)]);
        }
        const nl = chunk.lastIndexOf(0x0a);
        if (nl >= 0) {
          offset += nl + 1;
          if (!emit(parseCriLog(chunk.subarray(0, nl + 1).toString('utf8')))) return finish();
        }
      } finally {
        closeSync(fd);
      }
    };
    try {
      watcher = watch(file, () => readMore());
    } catch {
      return finish();
    }
    // the container's end (and a client gone) are noticed within a second
    timer = setInterval(() => {
      readMore();
      if (!running() || sink.closed()) {
        readMore();
        finish();
      }
    }, 1000);
    readMore();
  });
}
