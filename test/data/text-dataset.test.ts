import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Field,
  Int32,
  List,
  Schema,
  Table,
  tableFromArrays,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSourceError } from '../../src/data/data-source-error.js';
import { FORTUNES_DIR_ENV, readFortunes, selectSplit, splitFortunes } from '../../src/data/text-corpus.js';
import { loadTextDataset } from '../../src/data/text-dataset.js';
import { parseTextSource } from '../../src/data/text-source.js';
import { BYTE_TOKENIZER, loadTokenizerJson } from '../../src/data/text-tokenizer.js';
import { InvalidFileError } from '../../src/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-text-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A WordPiece tokenizer.json written by hand: whitespace-split words, unknown words map to [UNK] (0). */
const WORD_TOKENIZER = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [
    {
      id: 0,
      content: '[UNK]',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    },
  ],
  normalizer: null,
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: null,
  model: {
    type: 'WordPiece',
    vocab: { '[UNK]': 0, the: 1, cat: 2, sat: 3, on: 4, mat: 5, '.': 6 },
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 100,
  },
};

describe('text sources', () => {
  it('parses fortunes with and without a split, text files and token files; refuses the rest by listing the forms', () => {
    expect(parseTextSource('fortunes:en:test')).toEqual({ kind: 'fortunes', language: 'en', split: 'test' });
    expect(parseTextSource('fortunes:de')).toEqual({ kind: 'fortunes', language: 'de', split: 'all' });
    expect(parseTextSource('text:a/b')).toEqual({ kind: 'text', path: 'a/b' });
    expect(parseTextSource('notes.TXT')).toEqual({ kind: 'text', path: 'notes.TXT' });
    expect(parseTextSource('t.arrow')).toEqual({ kind: 'tokens', path: 't.arrow' });
    expect(parseTextSource('tokens:t.bin')).toEqual({ kind: 'tokens', path: 't.bin' });
    expect(() => parseTextSource('fortunes:xx')).toThrow(/no fortune corpus 'xx'; known: en, de, es, it/);
    expect(() => parseTextSource('fortunes:en:dev')).toThrow(/unknown split 'dev'/);
    expect(() => parseTextSource('fashion-mnist:test')).toThrow(DataSourceError);
    expect(() => parseTextSource('fashion-mnist:test')).toThrow(/fortunes:<en\|de\|es\|it>/);
  });

  it("splits strfile text on lines holding only '%', dropping blank lines around entries", () => {
    const text = 'first\nline two\n%\n\n  indented second\n%\n%\r\nthird\r\n%\n';
    expect(splitFortunes(text)).toEqual(['first\nline two\n', '  indented second\n', 'third\n']);
    expect(splitFortunes('no separator')).toEqual(['no separator\n']);
  });
});

describe('fortune corpora (Debian fortunes, fortunes-de)', () => {
  it('fortunes:en: train and test are disjoint, cover every fortune, test is about a tenth, the split is by text', async () => {
    const all = await readFortunes('en');
    expect(all.length).toBeGreaterThan(5000);
    const train = selectSplit(all, 'train');
    const test = selectSplit(all, 'test');
    expect(train.length + test.length).toBe(all.length);
    expect(test.length / all.length).toBeGreaterThan(0.07);
    expect(test.length / all.length).toBeLessThan(0.13);
    const testSet = new Set(test);
    expect(train.some((document) => testSet.has(document))).toBe(false);
    // The same text lands on the same side wherever it stands.
    const reversed = selectSplit([...all].reverse(), 'test');
    expect(new Set(reversed)).toEqual(testSet);
  });

  it('reads only the regular files of a language folder: links other packages place there are skipped', async () => {
    const root = join(dir, 'fortunes');
    await mkdir(join(root, 'de'), { recursive: true });
    await writeFile(join(root, 'jokes'), 'one\n%\ntwo\n');
    await writeFile(join(root, 'jokes.dat'), 'binary index');
    await writeFile(join(root, 'de', 'witze'), 'eins\n%\nzwei\n%\n');
    await symlink(join(root, 'de', 'witze'), join(root, 'witze'));
    await symlink(join(root, 'jokes'), join(root, 'jokes.u8'));
    const env = process.env[FORTUNES_DIR_ENV];
    process.env[FORTUNES_DIR_ENV] = root;
    try {
      expect(await readFortunes('en')).toEqual(['one\n', 'two\n']);
      expect(await readFortunes('de')).toEqual(['eins\n', 'zwei\n']);
      await expect(readFortunes('it')).rejects.toThrow(/no folder .*it; install Debian's fortunes-it/);
    } finally {
      if (env === undefined) delete process.env[FORTUNES_DIR_ENV];
      else process.env[FORTUNES_DIR_ENV] = env;
    }
  });

  it('fortunes:de is another language: its byte statistics differ from the English ones', async () => {
    const en = await loadTextDataset('fortunes:en:test', {
      sequenceLength: 63,
      tokenizer: BYTE_TOKENIZER,
      limit: 200,
    });
    const de = await loadTextDataset('fortunes:de:test', {
      sequenceLength: 63,
      tokenizer: BYTE_TOKENIZER,
      limit: 200,
    });
    expect(en.count).toBe(200);
    expect(de.count).toBe(200);
    // UTF-8 umlauts start with byte 0xC3: common in German, rare in English.
    const share = (data: Float32Array) => data.filter((b) => b === 0xc3).length / data.length;
    expect(share(de.features)).toBeGreaterThan(5 * share(en.features) + 1e-3);
  });
});

describe('loadTextDataset', () => {
  it('cuts a text file into consecutive sequences of context + 1 UTF-8 bytes, dropping the tail', async () => {
    const text = 'Grüße, world! '.repeat(5);
    const path = join(dir, 'small.txt');
    await writeFile(path, text);
    const bytes = [...Buffer.from(text, 'utf8')];
    const data = await loadTextDataset(path, { sequenceLength: 9, tokenizer: BYTE_TOKENIZER });
    expect(data.count).toBe(Math.floor(bytes.length / 10));
    expect(data.exampleShape).toEqual([10]);
    expect([...data.features]).toEqual(bytes.slice(0, data.count * 10));
    expect(data.tokens).toEqual({ tokenizer: 'bytes', vocabulary: 256 });
    expect(data.classes).toBe(256);
    const limited = await loadTextDataset(`text:${path}`, {
      sequenceLength: 9,
      tokenizer: BYTE_TOKENIZER,
      limit: 2,
    });
    expect(limited.count).toBe(2);
    await expect(loadTextDataset(path, { sequenceLength: 500, tokenizer: BYTE_TOKENIZER })).rejects.toThrow(
      /do not fill one sequence of 501 .*shorter --context/,
    );
    await expect(
      loadTextDataset(join(dir, 'missing.txt'), { sequenceLength: 4, tokenizer: BYTE_TOKENIZER }),
    ).rejects.toThrow(/missing\.txt does not exist/);
  });

  it('refuses a text file that is not UTF-8, naming the file and the byte offset', async () => {
    const path = join(dir, 'latin1.txt');
    // 'Grüße' in Latin-1: ü is the lone byte 0xfc at offset 15, which starts no UTF-8 sequence.
    await writeFile(path, Buffer.concat([Buffer.from('hello world, Gr'), Buffer.from([0xfc, 0xdf, 0x65])]));
    const load = loadTextDataset(`text:${path}`, { sequenceLength: 2, tokenizer: BYTE_TOKENIZER });
    await expect(load).rejects.toBeInstanceOf(InvalidFileError);
    await expect(load).rejects.toThrow(`${path}: not UTF-8: byte 0xfc at offset 15`);
  });

  it('encodes with a tokenizer.json through @huggingface/tokenizers, without special tokens', async () => {
    const folder = join(dir, 'tok');
    await mkdir(folder);
    await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(WORD_TOKENIZER));
    const tokenizer = await loadTokenizerJson(join(folder, 'tokenizer.json'));
    expect(tokenizer.vocabulary).toBe(7);
    expect(tokenizer.encode('the cat sat on the mat .')).toEqual([1, 2, 3, 4, 1, 5, 6]);
    expect(tokenizer.encode('the dog')).toEqual([1, 0]);
    const path = join(dir, 'cats.txt');
    await writeFile(path, 'the cat sat on the mat . the mat sat on the cat .');
    const data = await loadTextDataset(path, { sequenceLength: 4, tokenizer });
    expect(data.count).toBe(2);
    expect([...data.features]).toEqual([1, 2, 3, 4, 1, 5, 6, 1, 5, 3]);
    expect(data.tokens?.vocabulary).toBe(7);
    await writeFile(join(folder, 'bad.json'), '{"model": 3');
    await expect(loadTokenizerJson(join(folder, 'bad.json'))).rejects.toThrow(InvalidFileError);
  });

  it('reads Arrow token files: one token per row, or a list of tokens per row; mal.vocabulary when given', async () => {
    const flat = join(dir, 'flat.arrow');
    await writeFile(flat, tableToIPC(tableFromArrays({ tokens: Int32Array.from([5, 1, 2, 3, 4, 0, 9, 8]) })));
    const flatData = await loadTextDataset(flat, { sequenceLength: 3, tokenizer: BYTE_TOKENIZER });
    expect([...flatData.features]).toEqual([5, 1, 2, 3, 4, 0, 9, 8]);
    expect(flatData.tokens?.vocabulary).toBe(10);

    const listField = new Field('tokens', new List(new Field('item', new Int32(), false)), false);
    const lists = vectorFromArray([[7, 7, 1], [2], [3, 4, 5, 6]], listField.type);
    const table = new Table(new Schema([listField], new Map([['mal.vocabulary', '50']])), { tokens: lists });
    const listed = join(dir, 'listed.arrow');
    await writeFile(listed, tableToIPC(table));
    const listData = await loadTextDataset(`tokens:${listed}`, {
      sequenceLength: 3,
      tokenizer: BYTE_TOKENIZER,
    });
    expect([...listData.features]).toEqual([7, 7, 1, 2, 3, 4, 5, 6]);
    expect(listData.tokens?.vocabulary).toBe(50);

    const wrong = join(dir, 'wrong.arrow');
    await writeFile(wrong, tableToIPC(tableFromArrays({ ids: Int32Array.from([1, 2]) })));
    await expect(loadTextDataset(wrong, { sequenceLength: 1, tokenizer: BYTE_TOKENIZER })).rejects.toThrow(
      /no 'tokens' column \(columns: ids\)/,
    );
  });
});
