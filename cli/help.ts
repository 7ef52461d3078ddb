/** Help text, generated from the command tree and the flag tables: every flag with its value name, default and env. */
import { flagUsage, type FlagSpec, type FlagTable, type Positionals } from './flags.ts';

const WIDTH = 120;

export interface HelpSubject {
  summary: string;
  flags: FlagTable;
  args?: Positionals;
}

/** `skiff <path> --help` */
export function commandHelp(path: string, c: HelpSubject): string {
  const lines = [`Usage: skiff ${path} [flags]${c.args ? ` ${argsUsage(c.args)}` : ''}`, ''];
  lines.push(...wrap(`${c.summary[0].toUpperCase()}${c.summary.slice(1)}.`, 0), '', 'Flags:');
  const rows: [string, string][] = Object.entries(c.flags).map(([name, spec]) => [
    flagUsage(name, spec),
    `${spec.help}${annotation(spec)}`,
  ]);
  rows.push(['-h, --help', 'show this help']);
  // one-letter forms stand in a column of their own, as in most tools' help
  const left = rows.map(([l]) => (l.startsWith('--') ? `    ${l}` : l));
  const width = Math.max(...left.map((l) => l.length)) + 3;
  rows.forEach(([, text], i) => lines.push(...wrap(text, width + 2, `  ${left[i].padEnd(width)}`)));
  if (Object.values(c.flags).some((s) => s.type === 'list'))
    lines.push('', 'A flag with VALUE,... takes a comma-separated list and may be given more than once.');
  return lines.join('\n');
}

/** `skiff --help`, `skiff image --help`: the commands under a name */
export function groupHelp(path: string, summary: string | undefined, commands: Record<string, { summary: string }>) {
  const prefix = path ? `${path} ` : '';
  const lines = [`Usage: skiff ${prefix}<command> [flags]`, ''];
  if (summary) lines.push(...wrap(`${summary[0].toUpperCase()}${summary.slice(1)}.`, 0), '');
  lines.push('Commands:');
  const width = Math.max(...Object.keys(commands).map((n) => n.length)) + 3;
  for (const [name, cmd] of Object.entries(commands))
    lines.push(...wrap(cmd.summary, width + 2, `  ${name.padEnd(width)}`));
  lines.push(
    '',
    `Run "skiff ${prefix}<command> --help" (or "skiff help ${prefix}<command>") for the flags of a command.`,
  );
  return lines.join('\n');
}

function argsUsage(a: Positionals): string {
  const one = a.max > 1 ? `${a.name}...` : a.name;
  return a.min === 0 ? `[${one}]` : one;
}

function annotation(spec: FlagSpec): string {
  const parts: string[] = [];
  const d = spec.default;
  if (Array.isArray(d) ? d.length > 0 : d !== undefined && d !== '' && d !== false)
    parts.push(`default ${Array.isArray(d) ? d.join(',') : String(d)}`);
  if (spec.env) parts.push(`env ${spec.env}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

/** words wrapped to WIDTH; the first line starts with `first`, the others are indented by `indent` */
function wrap(text: string, indent: number, first = ''): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(indent);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}
