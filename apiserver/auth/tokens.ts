/**
 * Static bearer tokens in a CSV file, the format of kube-apiserver's --token-auth-file:
 *   token,user,uid,"group1,group2"
 * (at least three columns; the fourth, optional, holds comma-separated groups). Lookups are one map access.
 */
import crypto from 'node:crypto';
import type { UserInfo } from './user.ts';
import { readPrivateFile, writePrivateFile } from './private-files.ts';

export interface TokenRecord {
  token: string;
  user: UserInfo;
}

export class TokenStore {
  private readonly byToken = new Map<string, UserInfo>();
  private readonly byUser = new Map<string, TokenRecord>();
  private records: TokenRecord[] = [];
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(readonly path: string) {}

  /** read the file if it exists (an absent file is an empty store, created on the first ensure) */
  static async open(path: string): Promise<TokenStore> {
    const store = new TokenStore(path);
    const text = await readPrivateFile(path);
    if (text !== undefined) for (const rec of parseTokenFile(text, path)) store.add(rec);
    return store;
  }

  /** the user a token belongs to, or undefined */
  lookup(token: string): UserInfo | undefined {
    return this.byToken.get(token);
  }

  /**
   * A token for `user` with exactly these groups: the existing one (its groups updated if they differ), or a new random
   * one (32 bytes, base64url). The file is rewritten when anything changes.
   */
  ensure(user: string, groups: string[]): Promise<string> {
    if (!user) return Promise.reject(new Error('a token needs a user name'));
    if (groups.some((g) => !g || g.includes(','))) {
      return Promise.reject(
        new Error(`group names for tokens must be non-empty and contain no ',' (got ${JSON.stringify(groups)})`),
      );
    }
    const run = async (): Promise<string> => {
      const existing = this.byUser.get(user);
      if (existing && sameGroups(existing.user.groups, groups)) return existing.token;
      const rec: TokenRecord = existing
        ? { token: existing.token, user: { ...existing.user, groups: [...groups] } }
        : {
            token: crypto.randomBytes(32).toString('base64url'),
            user: { name: user, uid: crypto.randomUUID(), groups: [...groups] },
          };
      const next = existing ? this.records.map((r) => (r === existing ? rec : r)) : [...this.records, rec];
      await writePrivateFile(this.path, formatTokenFile(next));
      this.records = next;
      this.byToken.set(rec.token, rec.user);
      this.byUser.set(user, rec);
      return rec.token;
    };
    const result = this.writes.then(run, run);
    this.writes = result.catch(() => undefined);
    return result;
  }

  private add(rec: TokenRecord): void {
    const previous = this.byToken.get(rec.token);
    if (previous) this.records = this.records.filter((r) => r.token !== rec.token); // a later duplicate wins
    this.records.push(rec);
    this.byToken.set(rec.token, rec.user);
    this.byUser.set(rec.user.name, rec);
  }
}

function sameGroups(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((g, i) => g === b[i]);
}

/** parse the token file; blank lines are skipped, records with an empty token are ignored */
export function parseTokenFile(text: string, where: string): TokenRecord[] {
  const out: TokenRecord[] = [];
  const rows = parseCsv(text.replace(/^\uFEFF/, ''), where);
  for (const { fields, line } of rows) {
    if (fields.length < 3) {
      throw new Error(
        `token file '${where}' line ${line} must have at least 3 columns (token, user name, user uid), found ${fields.length}`,
      );
    }
    const [token, name, uid, groupList] = fields as [string, string, string, string | undefined];
    if (!token) continue;
    const groups = groupList ? groupList.split(',').filter((g) => g !== '') : [];
    out.push({ token, user: { name, uid, groups } });
  }
  return out;
}

export function formatTokenFile(records: TokenRecord[]): string {
  return records
    .map((r) => [r.token, r.user.name, r.user.uid ?? '', r.user.groups.join(',')].map(csvField).join(',') + '\n')
    .join('');
}

function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks; empty lines are skipped */
function parseCsv(text: string, where: string): Array<{ fields: string[]; line: number }> {
  const rows: Array<{ fields: string[]; line: number }> = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let endOfRow = false;
    while (!endOfRow) {
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw new Error(`token file '${where}' line ${startLine}: unterminated quoted field`);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          throw new Error(`token file '${where}' line ${line}: unexpected text after a closing quote`);
        }
      }
      while (i < text.length && text[i] !== ',' && text[i] !== '\n') field += text[i++];
      if (text[i] === ',') {
        fields.push(field.replace(/\r$/, ''));
        field = '';
        i++;
        continue;
      }
      fields.push(field.replace(/\r$/, ''));
      if (text[i] === '\n') {
        i++;
        line++;
      }
      endOfRow = true;
    }
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ fields, line: startLine });
  }
  return rows;
}
