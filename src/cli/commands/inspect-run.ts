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
    const nameWidth = Math.max(...infos.map((i) => i.name.length));
    for (const info of infos) {
      const axes = (axesOf.get(info.name) ?? [])
        .map((axis) =>
          axis === null
            ? '·'
            : axis.map((p) => (p.block === 1 ? p.space : `${p.space}×${p.block}`)).join('|'),
        )
        .join(', ');
      io.out(
        `  ${info.name.padEnd(nameWidth)}  ${info.dtype.padEnd(4)}  ${shapeToString(info.shape).padEnd(18)}  [${axes}]`,
      );
    }
    io.out('');
    io.out('spaces:');
    const spaceWidth = Math.max(...model.spec.spaces.map((s) => s.name.length));
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
