import { DataSourceError } from './data-source-error.js';

/** The named sources built in, in the order messages list them. */
export const KNOWN_DATA_SOURCES = [
  'fashion-mnist:train',
  'fashion-mnist:test',
  'fashion-mnist:val',
  'mnist:train',
  'mnist:test',
] as const;

export type KnownDataSourceName = (typeof KNOWN_DATA_SOURCES)[number];

/** What a source string names, without touching the file system (plans are validated before data is read). */
export type DataSource =
  | { readonly kind: 'fashion-mnist'; readonly split: 'train' | 'test' }
  | { readonly kind: 'fashion-mnist-val' }
  | { readonly kind: 'mnist'; readonly split: 'train' | 'test' }
  | { readonly kind: 'arrow'; readonly path: string };

const ARROW_PREFIX = 'arrow:';
const ARROW_EXTENSIONS = ['.arrow', '.feather'] as const;

export function isKnownDataSourceName(source: string): source is KnownDataSourceName {
  return (KNOWN_DATA_SOURCES as readonly string[]).includes(source);
}

/** One line that tells the user every form a source may take. */
export function describeDataSources(): string {
  return `known sources: ${KNOWN_DATA_SOURCES.join(', ')}; or an Arrow IPC file: a path ending in ${ARROW_EXTENSIONS.join(' or ')}, or arrow:<path>`;
}

/**
 * Parses a source string: a known name (`fashion-mnist:test`), `arrow:<path>`, or a path ending in `.arrow` or
 * `.feather`. Throws a DataSourceError listing the valid forms for anything else.
 */
export function parseDataSource(source: string): DataSource {
  switch (source) {
    case 'fashion-mnist:train':
      return { kind: 'fashion-mnist', split: 'train' };
    case 'fashion-mnist:test':
      return { kind: 'fashion-mnist', split: 'test' };
    case 'fashion-mnist:val':
      return { kind: 'fashion-mnist-val' };
    case 'mnist:train':
      return { kind: 'mnist', split: 'train' };
    case 'mnist:test':
      return { kind: 'mnist', split: 'test' };
  }
  if (source.startsWith(ARROW_PREFIX)) {
    const path = source.slice(ARROW_PREFIX.length);
    if (path === '') throw new DataSourceError(`data source '${source}': no path after '${ARROW_PREFIX}'`);
    return { kind: 'arrow', path };
  }
  const lower = source.toLowerCase();
  if (ARROW_EXTENSIONS.some((extension) => lower.endsWith(extension))) return { kind: 'arrow', path: source };
  throw new DataSourceError(`unknown data source '${source}'; ${describeDataSources()}`);
}
