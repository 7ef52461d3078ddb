/** Files that hold secrets: written atomically, readable by the owner only. */
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** create the folder (owner-only) if missing */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** write via a temporary file and rename, so readers never see half a file; mode 0600 */
export async function writePrivateFile(file: string, content: string): Promise<void> {
  await ensurePrivateDir(path.dirname(file));
  const tmp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, content, { mode: PRIVATE_FILE_MODE });
    await fs.chmod(tmp, PRIVATE_FILE_MODE); // the umask may have narrowed or the file pre-existed
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** the file's text, or undefined if it does not exist; tightens its mode to 0600 if it was looser */
export async function readPrivateFile(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const st = await fs.stat(file);
  if ((st.mode & 0o077) !== 0) await fs.chmod(file, PRIVATE_FILE_MODE);
  return text;
}
