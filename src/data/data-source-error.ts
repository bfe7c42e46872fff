import { MalError } from '../errors.js';

/**
 * A data source cannot be used as asked: its name is unknown, its files are not where the program looked, or
 * the options (classes, limit, layout) do not fit it. Malformed files raise InvalidFileError instead.
 */
export class DataSourceError extends MalError {
  override readonly name = 'DataSourceError';
}
