import { DataSourceError } from './data-source-error.js';

/** The fortune corpora built in: language code → the Debian package that ships it and its folder. */
export const FORTUNE_CORPORA = {
  en: { package: 'fortunes', folder: '' },
  de: { package: 'fortunes-de', folder: 'de' },
  es: { package: 'fortunes-es', folder: 'es' },
  it: { package: 'fortunes-it', folder: 'it' },
} as const;

export type FortuneLanguage = keyof typeof FORTUNE_CORPORA;
export type TextSplit = 'train' | 'test' | 'all';

/** What a text source string names, for models that read token sequences. */
export type TextSource =
  | { readonly kind: 'fortunes'; readonly language: FortuneLanguage; readonly split: TextSplit }
  | { readonly kind: 'text'; readonly path: string }
  | { readonly kind: 'tokens'; readonly path: string };

const TEXT_PREFIX = 'text:';
const TOKENS_PREFIX = 'tokens:';
const ARROW_PREFIX = 'arrow:';

/** One line that tells the user every form a text source may take. */
export function describeTextSources(): string {
  const languages = Object.keys(FORTUNE_CORPORA).join('|');
  return `text sources: fortunes:<${languages}>[:train|:test], text:<file> (or a path ending in .txt), tokens:<file.arrow> (or an Arrow path)`;
}

/** Parses a text source string; throws a DataSourceError listing the valid forms for anything else. */
export function parseTextSource(source: string): TextSource {
  const fortunes = /^fortunes:([a-z]+)(?::([a-z]+))?$/.exec(source);
  if (fortunes !== null) {
    const [, language, split = 'all'] = fortunes;
    if (!(language in FORTUNE_CORPORA)) {
      throw new DataSourceError(
        `data source '${source}': no fortune corpus '${language}'; known: ${Object.keys(FORTUNE_CORPORA).join(', ')}`,
      );
    }
    if (split !== 'train' && split !== 'test' && split !== 'all') {
      throw new DataSourceError(`data source '${source}': unknown split '${split}'; use train, test or none`);
    }
    return { kind: 'fortunes', language: language as FortuneLanguage, split };
  }
  const after = (prefix: string): string => {
    const path = source.slice(prefix.length);
    if (path === '') throw new DataSourceError(`data source '${source}': no path after '${prefix}'`);
    return path;
  };
  if (source.startsWith(TEXT_PREFIX)) return { kind: 'text', path: after(TEXT_PREFIX) };
  if (source.startsWith(TOKENS_PREFIX)) return { kind: 'tokens', path: after(TOKENS_PREFIX) };
  if (source.startsWith(ARROW_PREFIX)) return { kind: 'tokens', path: after(ARROW_PREFIX) };
  const lower = source.toLowerCase();
  if (lower.endsWith('.txt')) return { kind: 'text', path: source };
  if (lower.endsWith('.arrow') || lower.endsWith('.feather')) return { kind: 'tokens', path: source };
  throw new DataSourceError(
    `data source '${source}' is not text, and this model reads token sequences; ${describeTextSources()}`,
  );
}
