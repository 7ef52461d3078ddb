/**
 * From argv to a running command: finds the command (`skiff image import` is two words), answers `--help` and
 * `skiff help <command>`, and turns errors into messages and exit codes: 2 for a command line that does not fit
 * (with the command's name and where its help is), 1 for a command that fails.
 */
import { COMMANDS, type Command, type CommandGroup } from './commands.ts';
import { UsageError } from './flags.ts';
import { commandHelp, groupHelp } from './help.ts';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const STDIO: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

type Env = Readonly<Record<string, string | undefined>>;

interface Found {
  /** the command's words: "server", "image import" */
  path: string;
  entry: Command | CommandGroup;
  /** what follows them */
  rest: string[];
}

const isGroup = (e: Command | CommandGroup): e is CommandGroup => 'commands' in e;
const isHelpFlag = (a: string | undefined) => a === '--help' || a === '-h';

/** runs `skiff ARGV`; resolves to the exit code once the command has started (a server then runs on) */
export async function runCommandLine(argv: readonly string[], io: Output = STDIO, env?: Env): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || isHelpFlag(first)) {
    io.out(groupHelp('', undefined, COMMANDS));
    return first === undefined ? 1 : 0;
  }
  if (first === 'help') return help(rest, io);
  const found = find(argv);
  if ('error' in found) return report(found.error, found.path, io);
  const { path, entry } = found;
  if (isGroup(entry)) {
    // `skiff image` alone lists what it holds
    io.out(groupHelp(path, entry.summary, entry.commands));
    return 0;
  }
  try {
    const line = entry.prepare(found.rest, env);
    if (line.help) io.out(commandHelp(path, entry));
    else await line.run();
    return 0;
  } catch (e) {
    return report(e, path, io);
  }
}

/** `skiff help [command...]` */
function help(words: string[], io: Output): number {
  if (words.length === 0) {
    io.out(groupHelp('', undefined, COMMANDS));
    return 0;
  }
  const found = find(words);
  if ('error' in found) return report(found.error, 'help', io);
  const { path, entry, rest } = found;
  if (rest.length > 0) return report(new UsageError(`"skiff ${path}" has no command "${rest[0]}"`), 'help', io);
  io.out(isGroup(entry) ? groupHelp(path, entry.summary, entry.commands) : commandHelp(path, entry));
  return 0;
}

/** the command named by the first words; a group's own help flag or a missing word stops at the group */
function find(words: readonly string[]): Found | { path: string; error: UsageError } {
  let entries: Record<string, Command | CommandGroup> = COMMANDS;
  let path = '';
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const entry = Object.hasOwn(entries, word) ? entries[word] : undefined;
    if (!entry) {
      const known = Object.keys(entries).join(', ');
      const error = new UsageError(`unknown command "${word}" (known commands: ${known})`);
      return { path, error };
    }
    path = path ? `${path} ${word}` : word;
    const next = words[i + 1];
    if (!isGroup(entry) || next === undefined || isHelpFlag(next)) return { path, entry, rest: words.slice(i + 1) };
    entries = entry.commands;
  }
  return { path, error: new UsageError('no command given') };
}

function report(e: unknown, path: string, io: Output): number {
  const where = path ? `skiff ${path}` : 'skiff';
  if (e instanceof UsageError) {
    io.err(`${where}: ${e.message}; see ${path === 'help' ? 'skiff' : where} --help`);
    return 2;
  }
  io.err(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  return 1;
}
