import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { SpecError } from '../errors.js';
import type {
  ArchitectureFamily,
  ArchitectureSpec,
  AxisPart,
  AxisSpec,
  LayerKind,
  LayerSpec,
  SpaceKind,
  SpaceSpec,
  TensorSpec,
} from './architecture-spec.js';
import { checkSpecStructure } from './spec-structure.js';

/*
 * Spec file format (JSON or YAML, same structure):
 *
 *   family: custom                      # mlp | cnn | resnet | gpt2 | llama | custom (default custom)
 *   spaces:                             # network order; kind free | fixed; role optional
 *     - {name: input, kind: fixed, role: input}
 *     - {name: h1, kind: free}
 *   tensors:                            # every tensor of the model, in file order
 *     fc1.weight: [h1, input]           # an axis is a space name,
 *     conv.weight: [c1, input, null, null]            # null (no space: spatial axes),
 *     attn.c_attn.weight: [res, [heads*64, heads*64, heads*64]]   # or a list of parts "space*block"
 *     bn.num_batches_tracked: {axes: [], merge: false}
 *   layers:                             # network order; input/output default null
 *     - {name: fc1, kind: dense, tensors: [fc1.weight, fc1.bias], input: input, output: h1}
 *   attributes: {activation: relu}      # strings or numbers
 */

const FAMILIES: readonly ArchitectureFamily[] = ['mlp', 'cnn', 'resnet', 'gpt2', 'llama', 'custom'];
const SPACE_KINDS: readonly SpaceKind[] = ['free', 'fixed'];
const LAYER_KINDS: readonly LayerKind[] = [
  'dense',
  'conv',
  'batchnorm',
  'norm',
  'embedding',
  'attention',
  'other',
];
const PART_WITH_BLOCK = /^(.+)\*(\d+)$/;

/** Reads a spec file; the format (JSON or YAML) follows the extension, anything but `.json` is read as YAML. */
export async function loadSpecFile(path: string): Promise<ArchitectureSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SpecError(
      `${path}: cannot read spec file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return parseSpecFile(text, path);
}

/** Parses and checks a spec file's text. Errors read `file:line: field.path: what is wrong`. */
export function parseSpecFile(text: string, fileName: string): ArchitectureSpec {
  if (fileName.toLowerCase().endsWith('.json')) {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new SpecError(
        `${fileName}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  // JSON is read through the YAML parser too: it keeps key order and knows the line of every value.
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    throw new SpecError(`${fileName}:${line}: ${firstError.message.split('\n')[0]}`);
  }
  const spec = new SpecFileReader(fileName, lineCounter).readSpec(document.contents);
  try {
    checkSpecStructure(spec);
  } catch (error) {
    if (error instanceof SpecError) throw new SpecError(`${fileName}: ${error.message}`);
    throw error;
  }
  return spec;
}

/** The spec as spec-file JSON (one space, tensor or layer per line), which parseSpecFile reads back. */
export function serializeSpec(spec: ArchitectureSpec): string {
  for (const space of spec.spaces) {
    if (space.name.includes('*')) {
      throw new SpecError(
        `space '${space.name}' cannot be written to a spec file: '*' separates a space from its block`,
      );
    }
  }
  const spaces = spec.spaces.map((space) => JSON.stringify(space));
  const tensors = spec.tensors.map((tensor) => {
    const axes = tensor.axes.map(serializeAxis);
    return `${JSON.stringify(tensor.name)}: ${JSON.stringify(tensor.merge ? axes : { axes, merge: false })}`;
  });
  const layers = spec.layers.map((layer) => JSON.stringify(layer));
  return [
    '{',
    `  "family": ${JSON.stringify(spec.family)},`,
    `  "spaces": ${block('[', spaces, ']')},`,
    `  "tensors": ${block('{', tensors, '}')},`,
    `  "layers": ${block('[', layers, ']')},`,
    `  "attributes": ${JSON.stringify(spec.attributes)}`,
    '}',
    '',
  ].join('\n');
}

function block(open: string, lines: readonly string[], close: string): string {
  if (lines.length === 0) return `${open}${close}`;
  return `${open}\n${lines.map((line) => `    ${line}`).join(',\n')}\n  ${close}`;
}

function serializeAxis(axis: AxisSpec): string | string[] | null {
  if (axis === null) return null;
  const parts = axis.map((part) => (part.block === 1 ? part.space : `${part.space}*${part.block}`));
  return parts.length === 1 ? parts[0] : parts;
}

/** Walks the parsed document, checking each field where it stands so an error can name its line. */
class SpecFileReader {
  private readonly spaceNames = new Set<string>();
  private readonly tensorNames = new Set<string>();

  constructor(
    private readonly fileName: string,
    private readonly lineCounter: LineCounter,
  ) {}

  readSpec(root: Node | null): ArchitectureSpec {
    const fields = this.readMap(root, '(top level)', ['family', 'spaces', 'tensors', 'layers', 'attributes']);
    const familyNode = fields.get('family');
    const family =
      familyNode === undefined
        ? 'custom'
        : this.readChoice(familyNode, 'family', FAMILIES, 'an architecture family');
    const spaces = this.readSpaces(this.required(fields, 'spaces', root, '(top level)'));
    const tensors = this.readTensors(this.required(fields, 'tensors', root, '(top level)'));
    const layersNode = fields.get('layers');
    const layers = layersNode === undefined ? [] : this.readLayers(layersNode);
    const attributesNode = fields.get('attributes');
    const attributes = attributesNode === undefined ? {} : this.readAttributes(attributesNode);
    return { family, spaces, tensors, layers, attributes };
  }

  private readSpaces(node: Node): SpaceSpec[] {
    return this.readSeq(node, 'spaces').map((item, index) => {
      const path = `spaces[${index}]`;
      const fields = this.readMap(item, path, ['name', 'kind', 'role']);
      const nameNode = this.required(fields, 'name', item, path);
      const name = this.readString(nameNode, `${path}.name`);
      if (name.includes('*'))
        this.fail(
          nameNode,
          `${path}.name`,
          `space name '${name}' contains '*', which separates a space from its block`,
        );
      if (this.spaceNames.has(name)) this.fail(nameNode, `${path}.name`, `space '${name}' is declared twice`);
      this.spaceNames.add(name);
      const kind = this.readChoice(
        this.required(fields, 'kind', item, path),
        `${path}.kind`,
        SPACE_KINDS,
        'a space kind',
      );
      const roleNode = fields.get('role');
      return roleNode === undefined
        ? { name, kind }
        : { name, kind, role: this.readString(roleNode, `${path}.role`) };
    });
  }

  private readTensors(node: Node): TensorSpec[] {
    if (!isMap(node)) this.fail(node, 'tensors', 'expected a mapping from tensor name to its axes');
    return this.entries(node, 'tensors').map(([name, value]) => {
      const path = `tensors.${name}`;
      this.tensorNames.add(name);
      if (isSeq(value)) return { name, axes: this.readAxes(value, path), merge: true };
      const fields = this.readMap(
        value,
        path,
        ['axes', 'merge'],
        'a list of axes or a mapping {axes, merge}',
      );
      const axes = this.readAxes(this.required(fields, 'axes', value, path), `${path}.axes`);
      const mergeNode = fields.get('merge');
      const merge = mergeNode === undefined ? true : this.readBoolean(mergeNode, `${path}.merge`);
      return { name, axes, merge };
    });
  }

  private readAxes(node: Node, path: string): AxisSpec[] {
    return this.readSeq(node, path).map((axisNode, axisIndex) => {
      const axisPath = `${path}[${axisIndex}]`;
      if (isScalar(axisNode) && axisNode.value === null) return null;
      if (!isSeq(axisNode)) return [this.readPart(axisNode, axisPath)];
      const parts = axisNode.items.map((partNode, partIndex) =>
        this.readPart(partNode as Node, `${axisPath}[${partIndex}]`),
      );
      if (parts.length === 0)
        this.fail(
          axisNode,
          axisPath,
          'an axis needs at least one part; use null for an axis without a space',
        );
      return parts;
    });
  }

  private readPart(node: Node, path: string): AxisPart {
    const text = this.readString(node, path, "a space name, 'space*block' or null");
    const withBlock = PART_WITH_BLOCK.exec(text);
    const space = withBlock === null ? text : withBlock[1];
    const blockSize = withBlock === null ? 1 : Number(withBlock[2]);
    if (!this.spaceNames.has(space)) this.fail(node, path, `unknown space '${space}'`);
    if (blockSize < 1) this.fail(node, path, `block of '${text}' must be a positive integer`);
    return { space, block: blockSize };
  }

  private readLayers(node: Node): LayerSpec[] {
    const layerNames = new Set<string>();
    const layerOfTensor = new Map<string, string>();
    return this.readSeq(node, 'layers').map((item, index) => {
      const path = `layers[${index}]`;
      const fields = this.readMap(item, path, ['name', 'kind', 'tensors', 'input', 'output']);
      const nameNode = this.required(fields, 'name', item, path);
      const name = this.readString(nameNode, `${path}.name`);
      if (layerNames.has(name)) this.fail(nameNode, `${path}.name`, `layer '${name}' is declared twice`);
      layerNames.add(name);
      const kind = this.readChoice(
        this.required(fields, 'kind', item, path),
        `${path}.kind`,
        LAYER_KINDS,
        'a layer kind',
      );
      const tensorsPath = `${path}.tensors`;
      const tensors = this.readSeq(this.required(fields, 'tensors', item, path), tensorsPath).map(
        (tensorNode, tensorIndex) => {
          const tensorPath = `${tensorsPath}[${tensorIndex}]`;
          const tensor = this.readString(tensorNode, tensorPath);
          if (!this.tensorNames.has(tensor)) this.fail(tensorNode, tensorPath, `unknown tensor '${tensor}'`);
          const owner = layerOfTensor.get(tensor);
          if (owner !== undefined)
            this.fail(tensorNode, tensorPath, `tensor '${tensor}' already belongs to layer '${owner}'`);
          layerOfTensor.set(tensor, name);
          return tensor;
        },
      );
      return {
        name,
        kind,
        tensors,
        input: this.readOptionalSpace(fields.get('input'), `${path}.input`),
        output: this.readOptionalSpace(fields.get('output'), `${path}.output`),
      };
    });
  }

  private readOptionalSpace(node: Node | undefined, path: string): string | null {
    if (node === undefined || (isScalar(node) && node.value === null)) return null;
    const space = this.readString(node, path, 'a space name or null');
    if (!this.spaceNames.has(space)) this.fail(node, path, `unknown space '${space}'`);
    return space;
  }

  private readAttributes(node: Node): Record<string, string | number> {
    if (!isMap(node)) this.fail(node, 'attributes', 'expected a mapping');
    const attributes: Record<string, string | number> = {};
    for (const [key, value] of this.entries(node, 'attributes')) {
      if (!isScalar(value) || !(typeof value.value === 'string' || typeof value.value === 'number')) {
        this.fail(value, `attributes.${key}`, 'expected a string or a number');
      }
      attributes[key] = value.value;
    }
    return attributes;
  }

  /** The entries of a mapping, keys as strings, values as nodes. */
  private entries(node: YAMLMap, path: string): [string, Node][] {
    return node.items.map((pair) => {
      const keyNode = pair.key as Node;
      if (!isScalar(keyNode) || !(typeof keyNode.value === 'string' || typeof keyNode.value === 'number')) {
        this.fail(keyNode, path, 'keys must be names');
      }
      const key = String(keyNode.value);
      if (pair.value === null || pair.value === undefined)
        this.fail(keyNode, `${path}.${key}`, 'has no value');
      return [key, pair.value as Node];
    });
  }

  /** A mapping's fields by name, refusing any field not in `allowed`. */
  private readMap(
    node: Node | null,
    path: string,
    allowed: readonly string[],
    expected = 'a mapping',
  ): Map<string, Node> {
    if (!isMap(node)) this.fail(node, path, `expected ${expected}`);
    const fields = new Map<string, Node>();
    for (const [key, value] of this.entries(node, path)) {
      if (!allowed.includes(key)) {
        this.fail(
          value,
          path === '(top level)' ? key : `${path}.${key}`,
          `unknown key '${key}' (expected one of ${allowed.join(', ')})`,
        );
      }
      fields.set(key, value);
    }
    return fields;
  }

  private required(fields: ReadonlyMap<string, Node>, key: string, owner: Node | null, path: string): Node {
    const node = fields.get(key);
    if (node === undefined) this.fail(owner, path, `missing required key '${key}'`);
    return node;
  }

  private readSeq(node: Node, path: string): Node[] {
    if (!isSeq(node)) this.fail(node, path, 'expected a list');
    return node.items as Node[];
  }

  private readString(node: Node, path: string, expected = 'a string'): string {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') {
      this.fail(node, path, `expected ${expected}, got ${describe(node)}`);
    }
    return node.value;
  }

  private readBoolean(node: Node, path: string): boolean {
    if (!isScalar(node) || typeof node.value !== 'boolean')
      this.fail(node, path, `expected true or false, got ${describe(node)}`);
    return node.value;
  }

  private readChoice<T extends string>(node: Node, path: string, choices: readonly T[], what: string): T {
    const value = this.readString(node, path, what);
    if (!(choices as readonly string[]).includes(value)) {
      this.fail(node, path, `'${value}' is not ${what} (expected one of ${choices.join(', ')})`);
    }
    return value as T;
  }

  private fail(node: Node | null | undefined, path: string, detail: string): never {
    const offset = node?.range?.[0];
    const where =
      offset === undefined ? this.fileName : `${this.fileName}:${this.lineCounter.linePos(offset).line}`;
    throw new SpecError(`${where}: ${path}: ${detail}`);
  }
}

function describe(node: Node): string {
  if (isScalar(node)) return node.value === null ? 'null' : JSON.stringify(node.value);
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  return 'an alias or unsupported value';
}
