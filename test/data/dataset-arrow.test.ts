import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  Field,
  FixedSizeList,
  Float16,
  Float64,
  Int64,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromArrays,
  tableFromIPC,
  tableToIPC,
  Uint8,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSourceError } from '../../src/data/data-source-error.js';
import type { Dataset } from '../../src/data/dataset.js';
import { parseExampleShape } from '../../src/data/dataset-arrow-format.js';
import { datasetToArrowIPC, writeDatasetArrow } from '../../src/data/dataset-arrow-writer.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { InvalidFileError } from '../../src/errors.js';

/** Six 2×2 single-channel images whose pixels are exact bytes / 255, labels 0..2. */
function byteDataset(): Dataset {
  const features = Float32Array.from({ length: 24 }, (_, k) => Math.fround(((k * 37) % 256) / 255));
  return {
    name: 'bytes',
    count: 6,
    exampleShape: [1, 2, 2],
    features,
    labels: Int32Array.from([0, 1, 2, 2, 1, 0]),
    classes: 3,
    classNames: ['zero', 'one', 'two'],
  };
}

describe('Arrow data files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mal-arrow-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeTable(name: string, table: Table): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, tableToIPC(table, 'file'));
    return path;
  }

  it('round-trips a data set through writeDatasetArrow, stored as bytes', async () => {
    const original = byteDataset();
    const path = join(dir, 'bytes.arrow');
    await writeDatasetArrow(path, original);
    const table = tableFromIPC(await readFile(path));
    expect(table.schema.fields.map((f) => [f.name, String(f.type)])).toEqual([
      ['label', 'Uint8'],
      ['pixels', 'FixedSizeList[4]<Uint8>'],
    ]);
    expect(table.schema.metadata.get('mal.example_shape')).toBe('[1,2,2]');

    const image = await loadDataset(path, { layout: 'image' });
    expect(image).toEqual({ ...original, name: path });
    const flat = await loadDataset(`arrow:${path}`, { layout: 'flat' });
    expect(flat.exampleShape).toEqual([4]);
    expect(flat.features).toEqual(original.features);
    expect(flat.name).toBe(`arrow:${path}`);
  });

  it('stores features that are not exact bytes as float32, and keeps them as they are', async () => {
    const original: Dataset = {
      name: 'floats',
      count: 2,
      exampleShape: [3],
      features: Float32Array.from([0.1, 0.5, 2.5, -1, 0, 0.3]),
      labels: Int32Array.from([1, 0]),
      classes: 2,
    };
    const path = join(dir, 'floats.feather');
    await writeDatasetArrow(path, original);
    expect(String(tableFromIPC(await readFile(path)).schema.fields[1].type)).toBe(
      'FixedSizeList[3]<Float32>',
    );
    const loaded = await loadDataset(path, { layout: 'flat' });
    expect(loaded.features).toEqual(original.features);
    expect(loaded.classNames).toBeUndefined();
    await expect(loadDataset(path, { layout: 'image' })).rejects.toThrow(
      /examples are 3 flat values with no image shape; use the flat layout/,
    );
  });

  it('refuses a lossy uint8 encoding and can force float32', () => {
    const floats: Dataset = { ...byteDataset(), features: new Float32Array(24).fill(0.3) };
    expect(() => datasetToArrowIPC(floats, { encoding: 'uint8' })).toThrow(DataSourceError);
    const forced = tableFromIPC(datasetToArrowIPC(byteDataset(), { encoding: 'float32' }));
    expect(forced.schema.fields[1].name).toBe('features');
  });

  it('records the class count so a file missing classes keeps it', async () => {
    const path = join(dir, 'missing-class.arrow');
    await writeDatasetArrow(path, { ...byteDataset(), labels: new Int32Array(6), classNames: undefined });
    expect((await loadDataset(path, { layout: 'flat' })).classes).toBe(3);
  });

  it('reads many numeric columns, one per feature, integer ones divided by 255', async () => {
    const path = await writeTable(
      'columns.arrow',
      tableFromArrays({
        p0: Uint8Array.from([0, 255]),
        label: Int32Array.from([4, 1]),
        p1: Int32Array.from([51, 102]),
        p2: Uint8Array.from([1, 2]),
        p3: Uint8Array.from([3, 4]),
      }),
    );
    const loaded = await loadDataset(path, { layout: 'image' });
    expect(loaded.exampleShape).toEqual([1, 2, 2]);
    expect(loaded.classes).toBe(5);
    expect([...loaded.labels]).toEqual([4, 1]);
    expect(Array.from(loaded.features, (v) => Math.round(v * 255))).toEqual([0, 51, 1, 3, 255, 102, 2, 4]);
  });

  it('takes float columns as they are, integer columns among them unscaled', async () => {
    const path = await writeTable(
      'mixed.arrow',
      tableFromArrays({ label: Uint8Array.from([0]), a: Float64Array.from([0.25]), b: Int32Array.from([2]) }),
    );
    expect([...(await loadDataset(path, { layout: 'flat' })).features]).toEqual([0.25, 2]);
  });

  it('reads a FixedSizeList of Int64 with the shape from metadata', async () => {
    const items = makeData({
      type: new Int64(),
      length: 6,
      nullCount: 0,
      data: BigInt64Array.from([0n, 255n, 51n, 0n, 0n, 0n]),
    });
    const list = new FixedSizeList(6, new Field('item', new Int64(), false));
    const features = makeData({ type: list, length: 1, nullCount: 0, child: items });
    const labels = makeData({ type: new Uint8(), length: 1, nullCount: 0, data: Uint8Array.from([0]) });
    const schema = new Schema(
      [new Field('label', labels.type, false), new Field('x', list, false)],
      new Map([['mal.example_shape', '[2, 1, 3]']]),
    );
    const rows = makeData({
      type: new Struct(schema.fields),
      length: 1,
      nullCount: 0,
      children: [labels, features],
    });
    const path = await writeTable('int64.arrow', new Table([new RecordBatch(schema, rows)]));
    const loaded = await loadDataset(path, { layout: 'image' });
    expect(loaded.exampleShape).toEqual([2, 1, 3]);
    expect([...loaded.features]).toEqual([0, 1, Math.fround(0.2), 0, 0, 0]);
  });

  it('takes the example shape from an arrow.fixed_shape_tensor features column, and refuses one that does not fit', async () => {
    const table = (extensionMetadata: string): Table => {
      const items = makeData({
        type: new Uint8(),
        length: 12,
        nullCount: 0,
        data: Uint8Array.from({ length: 12 }, (_, k) => k),
      });
      const list = new FixedSizeList(6, new Field('item', new Uint8(), false));
      const features = makeData({ type: list, length: 2, nullCount: 0, child: items });
      const labels = makeData({ type: new Uint8(), length: 2, nullCount: 0, data: Uint8Array.from([1, 0]) });
      const schema = new Schema([
        new Field('label', labels.type, false),
        new Field(
          'images',
          list,
          false,
          new Map([
            ['ARROW:extension:name', 'arrow.fixed_shape_tensor'],
            ['ARROW:extension:metadata', extensionMetadata],
          ]),
        ),
      ]);
      const rows = makeData({
        type: new Struct(schema.fields),
        length: 2,
        nullCount: 0,
        children: [labels, features],
      });
      return new Table([new RecordBatch(schema, rows)]);
    };
    const path = await writeTable('tensor-features.arrow', table('{"shape":[3,1,2]}'));
    const loaded = await loadDataset(path, { layout: 'image' });
    expect(loaded.exampleShape).toEqual([3, 1, 2]);
    expect(Array.from(loaded.features, (v) => Math.round(v * 255))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    ]);
    const bad = await writeTable('tensor-features-bad.arrow', table('{"shape":[4,2]}'));
    await expect(loadDataset(bad, { layout: 'image' })).rejects.toThrow(
      /features column 'images' is an arrow\.fixed_shape_tensor whose metadata "\{\\"shape\\":\[4,2\]\}" does not give a shape of its 6 values/,
    );
    // A permutation other than the identity stores the axes in another order than the shape says, as the tensor
    // messages refuse too; the identity (or none) is the row-major order mal reads.
    const identity = await writeTable(
      'tensor-features-id.arrow',
      table('{"shape":[3,1,2],"permutation":[0,1,2]}'),
    );
    expect((await loadDataset(identity, { layout: 'image' })).exampleShape).toEqual([3, 1, 2]);
    const permuted = await writeTable(
      'tensor-features-perm.arrow',
      table('{"shape":[3,1,2],"permutation":[2,0,1]}'),
    );
    await expect(loadDataset(permuted, { layout: 'image' })).rejects.toThrow(
      /tensor-features-perm\.arrow: features column 'images'.*"permutation" \[2,0,1\] reorders the axes/,
    );
  });

  it('reads several record batches in order', async () => {
    const first = tableFromArrays({ label: Uint8Array.from([1]), a: Float32Array.from([0.5]) });
    const second = tableFromArrays({ label: Uint8Array.from([0, 2]), a: Float32Array.from([0.25, 0.75]) });
    const path = await writeTable('batches.arrow', first.concat(second));
    const loaded = await loadDataset(path, { layout: 'flat' });
    expect([...loaded.labels]).toEqual([1, 0, 2]);
    expect([...loaded.features]).toEqual([0.5, 0.25, 0.75]);
  });

  describe('malformed files name the file and the fault', () => {
    async function failure(name: string, table: Table): Promise<string> {
      const path = await writeTable(name, table);
      const error = await loadDataset(path, { layout: 'flat' }).catch((e) => e);
      expect(error).toBeInstanceOf(InvalidFileError);
      expect((error as InvalidFileError).file).toBe(path);
      return (error as Error).message;
    }

    it('no label column', async () => {
      expect(await failure('nolabel.arrow', tableFromArrays({ a: Float32Array.from([1]) }))).toMatch(
        /no 'label' column; columns: a/,
      );
    });

    it('a label column that is not integers', async () => {
      expect(
        await failure(
          'floatlabel.arrow',
          tableFromArrays({ label: Float32Array.from([1]), a: Float32Array.from([1]) }),
        ),
      ).toMatch(/'label' is Float32; expected an integer type/);
    });

    it('negative labels, or labels beyond the named classes', async () => {
      expect(
        await failure(
          'neg.arrow',
          tableFromArrays({ label: Int8Array.from([0, -1]), a: Float32Array.from([1, 1]) }),
        ),
      ).toMatch(/label -1 at row 1 is not a non-negative class index/);
      const table = tableFromArrays({ label: Int8Array.from([0, 2]), a: Float32Array.from([1, 1]) });
      table.schema.metadata.set('mal.class_names', '["a","b"]');
      expect(await failure('beyond.arrow', table)).toMatch(/label 2 at row 1 is not a class 0\.\.1/);
    });

    it('integer features outside 0..255', async () => {
      expect(
        await failure(
          'big.arrow',
          tableFromArrays({ label: Uint8Array.from([0, 0]), a: Int32Array.from([3, 256]) }),
        ),
      ).toMatch(/integer feature 256 \(example 1\) is outside 0\.\.255/);
    });

    it('non-finite float features', async () => {
      expect(
        await failure(
          'nan.arrow',
          tableFromArrays({ label: Uint8Array.from([0]), a: Float64Array.from([Number.NaN]) }),
        ),
      ).toMatch(/feature NaN \(example 0\) is not finite/);
    });

    it('a non-numeric feature column', async () => {
      const table = new Table({
        label: vectorFromArray([0], new Uint8()),
        name: vectorFromArray(['x'], new Utf8()),
      });
      expect(await failure('text.arrow', table)).toMatch(
        /column 'name' is Utf8; feature columns must be integers/,
      );
    });

    it('half floats', async () => {
      const table = new Table({
        label: vectorFromArray([0], new Uint8()),
        h: vectorFromArray([0.5], new Float16()),
      });
      expect(await failure('half.arrow', table)).toMatch(/column 'h' is Float16/);
    });

    it('a list column beside other feature columns', async () => {
      const list = new FixedSizeList(2, new Field('item', new Float64(), false));
      const items = makeData({
        type: new Float64(),
        length: 2,
        nullCount: 0,
        data: Float64Array.from([1, 2]),
      });
      const listed = new Table({
        label: vectorFromArray([0], new Uint8()),
        x: vectorFromArray([0.5], new Float64()),
        l: makeVector(makeData({ type: list, length: 1, nullCount: 0, child: items })),
      });
      expect(await failure('both.arrow', listed)).toMatch(
        /a FixedSizeList features column must be the only column/,
      );
    });

    it('an example shape that does not match the features', async () => {
      const table = tableFromArrays({
        label: Uint8Array.from([0]),
        a: Float32Array.from([1]),
        b: Float32Array.from([1]),
      });
      table.schema.metadata.set('mal.example_shape', '1,3');
      expect(await failure('shape.arrow', table)).toMatch(
        /'mal.example_shape' 1,3 holds 3 values but each example has 2/,
      );
      table.schema.metadata.set('mal.example_shape', 'two');
      expect(await failure('shape2.arrow', table)).toMatch(/is not a list of positive integers/);
    });

    it('class names that are not a JSON list of strings', async () => {
      const table = tableFromArrays({ label: Uint8Array.from([0]), a: Float32Array.from([1]) });
      table.schema.metadata.set('mal.class_names', '[1]');
      expect(await failure('names.arrow', table)).toMatch(
        /'mal.class_names' metadata must be a JSON array of strings/,
      );
    });

    it('bytes that are not Arrow', async () => {
      const path = join(dir, 'garbage.arrow');
      await writeFile(path, 'not arrow at all');
      const error = await loadDataset(path, { layout: 'flat' }).catch((e) => e);
      expect(error).toBeInstanceOf(InvalidFileError);
      expect((error as Error).message).toMatch(new RegExp(`^${path}: not an Arrow IPC file or stream`));
    });
  });

  it('says where it looked for a missing file', async () => {
    await expect(loadDataset('arrow:no/such/file.bin', { layout: 'flat' })).rejects.toThrow(
      `arrow:no/such/file.bin: Arrow data file not found: ${resolve('no/such/file.bin')}`,
    );
  });
});

describe('parseExampleShape', () => {
  it('reads the JSON notation and the older comma list', () => {
    expect(parseExampleShape('[1,28,28]')).toEqual([1, 28, 28]);
    expect(parseExampleShape('[1, 28, 28]')).toEqual([1, 28, 28]);
    expect(parseExampleShape('1,28,28')).toEqual([1, 28, 28]);
    expect(parseExampleShape(' 1, 28 ,28 ')).toEqual([1, 28, 28]);
  });

  it('refuses what is neither: no digits run together across spaces, no nesting, no zero', () => {
    for (const text of [
      '[2 2]',
      '1 28 28',
      '[[1,28],[28]]',
      '[1,28,28',
      '1,28,28]',
      '[]',
      '',
      '[0,2]',
      '[1,,2]',
    ]) {
      expect(parseExampleShape(text), text).toBeUndefined();
    }
  });
});
