import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { errnoCode, fileSystemError } from '../io/file-system-error.js';
import { readRegularFile } from '../io/read-regular-file.js';
import { DataSourceError } from './data-source-error.js';
import { FORTUNE_CORPORA, type FortuneLanguage, type TextSplit } from './text-source.js';
import { firstInvalidUtf8Offset } from './utf8-offset.js';

/** Where Debian installs fortune files; MAL_FORTUNES_DIR points elsewhere (a copy, another distribution). */
export const FORTUNES_ROOT = '/usr/share/games/fortunes';
export const FORTUNES_DIR_ENV = 'MAL_FORTUNES_DIR';

/** One in TEST_SHARE documents is held out as `test`. */
export const TEST_SHARE = 10;

/**
 * The fortunes of one language as documents, in a fixed order (files by name, then file order). A language's
 * files are the regular files of its folder (English: the top folder) that are not strfile indexes (`.dat`) or
 * `.u8` links; symbolic links are skipped, as other packages (fortunes-it) link their files into the top
 * folder. Documents are separated by lines holding only `%`; blank lines around each are dropped and each ends
 * with one newline.
 */
export async function readFortunes(language: FortuneLanguage): Promise<string[]> {
  const corpus = FORTUNE_CORPORA[language];
  const root = process.env[FORTUNES_DIR_ENV] ?? FORTUNES_ROOT;
  const folder = join(root, corpus.folder);
  const install = `install Debian's ${corpus.package} (apt-get install ${corpus.package}) or set ${FORTUNES_DIR_ENV}`;
  let names: string[];
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    names = entries
      .filter((entry) => entry.isFile() && !/\.(dat|u8)$/.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      throw new DataSourceError(`fortunes:${language}: no folder ${folder}; ${install}`);
    }
    throw fileSystemError(folder, error, 'list the fortune files');
  }
  if (names.length === 0)
    throw new DataSourceError(`fortunes:${language}: no fortune files in ${folder}; ${install}`);
  const documents: string[] = [];
  for (const name of names) {
    const path = join(folder, name);
    documents.push(...splitFortunes(await readText(path)));
  }
  return documents;
}

/** strfile's text format: entries separated by lines that hold only `%`. */
export function splitFortunes(text: string): string[] {
  const documents: string[] = [];
  let lines: string[] = [];
  const finish = (): void => {
    const entry = lines
      .join('\n')
      .replace(/^(\s*\n)+/, '')
      .trimEnd();
    if (entry !== '') documents.push(`${entry}\n`);
    lines = [];
  };
  for (const line of text.split('\n')) {
    if (line.replace(/\r$/, '') === '%') finish();
    else lines.push(line.replace(/\r$/, ''));
  }
  finish();
  return documents;
}

/**
 * The documents of `split`: a document is `test` when its FNV-1a hash is 0 modulo TEST_SHARE, so the split
 * depends on the text alone (not its position), and a fortune that appears twice is on one side only.
 */
export function selectSplit(documents: readonly string[], split: TextSplit): string[] {
  if (split === 'all') return [...documents];
  const wantTest = split === 'test';
  return documents.filter((document) => (fnv1a(document) % TEST_SHARE === 0) === wantTest);
}

/** 32-bit FNV-1a over the UTF-16 code units: fixed, fast, and spread well enough for a 1-in-10 split. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * A UTF-8 text file, whole. `replace`: invalid bytes become U+FFFD rather than failing a corpus over one old
 * file (the fortunes). `refuse`: a file the user names is refused at its first invalid byte, since the
 * replacement would silently change the tokens a model is measured on.
 */
export async function readText(path: string, invalid: 'replace' | 'refuse' = 'replace'): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path);
  } catch (error) {
    if (error instanceof InvalidFileError) throw error;
    if (errnoCode(error) === 'ENOENT') throw new DataSourceError(`text file ${path} does not exist`);
    throw fileSystemError(path, error, 'read the text');
  }
  if (invalid === 'refuse') {
    const offset = firstInvalidUtf8Offset(bytes);
    if (offset >= 0) {
      throw new InvalidFileError(
        path,
        `not UTF-8: byte 0x${bytes[offset].toString(16).padStart(2, '0')} at offset ${offset} starts no UTF-8 character; convert the file (e.g. iconv -f latin1 -t utf-8)`,
      );
    }
  }
  return new TextDecoder('utf-8').decode(bytes);
}
