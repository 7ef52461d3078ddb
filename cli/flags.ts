/** A small flag parser: --name value, --name=value, --bool; unknown flags are errors that list the known ones. */

export interface FlagSpec {
  name: string;
  help: string;
  env?: string;
  default?: string;
  boolean?: boolean;
}

export function parseFlags(args: string[], specs: FlagSpec[], command: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of specs) {
    const fromEnv = s.env ? process.env[s.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') out[s.name] = fromEnv;
    else if (s.default !== undefined) out[s.name] = s.default;
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--help' || a === '-h') {
      console.log(helpText(specs, command));
      process.exit(0);
    }
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument "${a}"\n\n${helpText(specs, command)}`);
    const spec = specs.find((s) => s.name === m[1]);
    if (!spec) throw new Error(`unknown flag --${m[1]}\n\n${helpText(specs, command)}`);
    if (spec.boolean) out[spec.name] = m[2] ?? 'true';
    else {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw new Error(`flag --${spec.name} needs a value`);
      out[spec.name] = v;
    }
  }
  return out;
}

export function helpText(specs: FlagSpec[], command: string): string {
  const lines = [`Usage: skiff ${command} [flags]`, '', 'Flags:'];
  for (const s of specs) {
    const extra = [s.env ? `env ${s.env}` : '', s.default !== undefined ? `default ${JSON.stringify(s.default)}` : '']
      .filter(Boolean)
      .join(', ');
    lines.push(`  --${s.name.padEnd(22)} ${s.help}${extra ? ` (${extra})` : ''}`);
  }
  return lines.join('\n');
}
