import { loadModel } from '../../model/load-model.js';
import { shapeToString } from '../../tensor/tensor.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { modelLoadOptions } from '../model-options.js';

export async function runInspect(args: ParsedArgs, io: CommandIO): Promise<number> {
  const model = await loadModel(args.positionals[0], modelLoadOptions(args, ''));
  try {
    const infos = model.source.tensorNames().map((n) => model.source.info(n));
    if (args.flags.has('json')) {
      io.out(
        JSON.stringify(
          {
            path: model.path,
            metadata: model.source.metadata,
            tensors: infos,
            spec: model.spec,
            widths: Object.fromEntries(model.widths),
          },
          null,
          2,
        ),
      );
      return 0;
    }
    const axesOf = new Map(model.spec.tensors.map((t) => [t.name, t.axes]));
    io.out(
      `${model.path}: ${model.spec.family}, ${infos.length} tensors, ${model.spec.spaces.length} spaces`,
    );
    io.out('');
    io.out('tensors:');
    // Each column as wide as its longest entry: dtypes run from U8 to F8_E4M3FNUZ, shapes to any rank.
    const shapes = infos.map((i) => shapeToString(i.shape));
    const nameWidth = widest(infos.map((i) => i.name));
    const dtypeWidth = widest(infos.map((i) => i.dtype));
    const shapeWidth = widest(shapes);
    for (const [index, info] of infos.entries()) {
      const axes = (axesOf.get(info.name) ?? [])
        .map((axis) =>
          axis === null
            ? '·'
            : axis.map((p) => (p.block === 1 ? p.space : `${p.space}×${p.block}`)).join('|'),
        )
        .join(', ');
      io.out(
        `  ${info.name.padEnd(nameWidth)}  ${info.dtype.padEnd(dtypeWidth)}  ${shapes[index].padEnd(shapeWidth)}  [${axes}]`,
      );
    }
    io.out('');
    io.out('spaces:');
    const spaceWidth = widest(model.spec.spaces.map((s) => s.name));
    for (const space of model.spec.spaces) {
      const role = space.role === undefined ? '' : `  ${space.role}`;
      io.out(
        `  ${space.name.padEnd(spaceWidth)}  ${space.kind.padEnd(5)}  width ${model.widths.get(space.name)}${role}`,
      );
    }
    io.out('');
    io.out('layers:');
    for (const layer of model.spec.layers) {
      io.out(`  ${layer.name} (${layer.kind}): ${layer.input ?? '·'} → ${layer.output ?? '·'}`);
    }
    const attributes = Object.entries(model.spec.attributes);
    if (attributes.length > 0) {
      io.out('');
      io.out(`attributes: ${attributes.map(([k, v]) => `${k}=${v}`).join(', ')}`);
    }
    return 0;
  } finally {
    await model.source.close();
  }
}

/** Length of the longest text (a loop, not Math.max(...), which overflows the stack on huge models). */
function widest(texts: readonly string[]): number {
  let width = 0;
  for (const text of texts) width = Math.max(width, text.length);
  return width;
}
