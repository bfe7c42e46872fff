/** The command framework: lazy loading, help, suggestions, value checks and exit codes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CommandDefinition,
  type CommandIO,
  describeRange,
  parseNumber,
  type RegistryEntry,
} from '../../src/cli/command.js';
import { runProgram } from '../../src/cli/program.js';
import { MalError, UsageError } from '../../src/errors.js';
import { root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';

const mal = (...args: string[]) => runMal(args);

function capture(): { io: CommandIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l), progress: () => {} }, out, err };
}

describe('parseNumber', () => {
  it('says what it wants in words', () => {
    expect(describeRange({ integer: true, min: 1 })).toBe('a positive integer');
    expect(describeRange({ integer: true, min: 0 })).toBe('a non-negative integer');
    expect(describeRange({ min: 0, max: 1 })).toBe('a number from 0 to 1');
    expect(describeRange({ above: 0 })).toBe('a positive number');
    expect(describeRange({ above: 0, max: 1 })).toBe('a number above 0 and at most 1');
    expect(describeRange({ integer: true, min: 1, max: 256 })).toBe('an integer from 1 to 256');
    expect(describeRange({})).toBe('a number');
  });

  it('reads decimal numbers, negative ones included, and refuses anything else', () => {
    expect(parseNumber('-0.1', '--x', {})).toBe(-0.1);
    expect(parseNumber('1e-3', '--x', { min: 0 })).toBe(0.001);
    expect(parseNumber('12', '--n', { integer: true, min: 1 })).toBe(12);
    for (const bad of ['abc', '', ' 1', '0x10', '1.5', '0', 'Infinity', '1e400']) {
      expect(() => parseNumber(bad, '--limit', { integer: true, min: 1 }), bad).toThrow(
        `--limit must be a positive integer, got '${bad}'`,
      );
    }
    expect(() => parseNumber('1.5', '--lambda', { min: 0, max: 1 })).toThrow(UsageError);
  });
});

describe('the program', () => {
  const loaded: string[] = [];
  const definition = (name: string, run: CommandDefinition['run']): CommandDefinition => ({
    name,
    summary: `${name} things.`,
    positionals: [],
    options: {
      count: { type: 'number', integer: true, min: 1, description: 'how many', default: 3 },
      mode: { type: 'choice', choices: ['a', 'b'], description: 'which mode' },
      name: { type: 'string', description: 'a name', required: true },
      loud: { type: 'boolean', description: 'shout' },
    },
    run,
  });
  const registry: RegistryEntry[] = [
    {
      name: 'echo',
      summary: 'echo things',
      load: async () => {
        loaded.push('echo');
        return definition('echo', async (args, io) => {
          io.out(
            JSON.stringify({
              count: args.numbers.get('count'),
              mode: args.strings.get('mode') ?? null,
              name: args.strings.get('name'),
              loud: args.flags.has('loud'),
            }),
          );
          return 0;
        });
      },
    },
    {
      name: 'fail',
      summary: 'fail in various ways',
      load: async () => {
        loaded.push('fail');
        return definition('fail', async (args) => {
          const how = args.strings.get('name');
          if (how === 'mal')
            throw new (class extends MalError {
              override readonly exitCode = 69;
            })('the server is away');
          if (how === 'usage') throw new UsageError('that makes no sense');
          throw new TypeError('a bug');
        });
      },
    },
    {
      name: 'group',
      summary: 'a group',
      subcommands: [
        {
          name: 'group one',
          summary: 'the first',
          load: async () => {
            loaded.push('group one');
            return definition('group one', async () => 0);
          },
        },
      ],
    },
  ];
  const run = async (...argv: string[]) => {
    const c = capture();
    const code = await runProgram(argv, registry, c.io, { version: '9.9.9' });
    return { code, out: c.out.join('\n'), err: c.err.join('\n') };
  };

  it('loads only the command the arguments name', async () => {
    loaded.length = 0;
    expect((await run('--help')).code).toBe(0);
    expect((await run('group', '--help')).code).toBe(0);
    expect(loaded).toEqual([]);
    expect((await run('group', 'one', '-h')).code).toBe(0);
    expect(loaded).toEqual(['group one']);
  });

  it('passes checked values, defaults included, to the command', async () => {
    const r = await run('echo', '--name', 'x', '--mode', 'b', '--loud');
    expect(r).toEqual({ code: 0, out: '{"count":3,"mode":"b","name":"x","loud":true}', err: '' });
    expect(JSON.parse((await run('echo', '--name=-y', '--count', '7')).out)).toMatchObject({
      count: 7,
      name: '-y',
    });
  });

  it('exits 2 on usage errors with one clean line and a pointer to --help', async () => {
    const cases: [string[], string][] = [
      [['echo'], 'mal echo: --name is required: a name'],
      [['echo', '--name', 'x', '--count', 'abc'], "mal echo: --count must be a positive integer, got 'abc'"],
      [['echo', '--name', 'x', '--count', '-2'], "mal echo: --count must be a positive integer, got '-2'"],
      [['echo', '--name', 'x', '--mode', 'c'], "mal echo: --mode must be one of a, b, got 'c'"],
      [['echo', '--name', 'x', '--mdoe', 'a'], "mal echo: unknown option '--mdoe' (did you mean --mode?)"],
      [['echo', '--name', 'x', 'extra'], "mal echo: too many arguments for 'echo'"],
      [['echo', '--name'], "mal echo: option '--name <value>' argument missing"],
      [['ecko'], "mal: unknown command 'ecko' (did you mean echo?)"],
      [['group', 'on'], "mal group: unknown command 'on' (did you mean one?)"],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n')[0], argv.join(' ')).toContain(message);
      expect(r.err).toMatch(/Run 'mal[a-z ]*--help' for usage\./);
      expect(r.out).toBe('');
    }
  });

  it('lists the commands on stderr and exits 2 without one, and a group lists its subcommands', async () => {
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.err).toContain('Usage: mal <command>');
    const group = await run('group');
    expect(group.code).toBe(2);
    expect(group.err).toContain('Usage: mal group');
    expect(group.err).toMatch(/^ {2}one\s+the first$/m);
  });

  it('maps a MalError to its exit code and anything else to 70', async () => {
    expect(await run('fail', '--name', 'mal')).toEqual({
      code: 69,
      out: '',
      err: 'mal fail: the server is away',
    });
    expect(await run('fail', '--name', 'usage')).toEqual({
      code: 2,
      out: '',
      err: 'mal fail: that makes no sense',
    });
    const bug = await run('fail', '--name', 'bug');
    expect(bug.code).toBe(70);
    expect(bug.err).toMatch(/^mal fail: internal error: TypeError: a bug\n {4}at /);
  });

  it('prints its version', async () => {
    expect(await run('--version')).toEqual({ code: 0, out: '9.9.9', err: '' });
    expect((await run('-V')).out).toBe('9.9.9');
  });
});

describe('mal', () => {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

  it("prints package.json's version", async () => {
    expect(await mal('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('suggests the command meant', async () => {
    const r = await mal('inpsect', 'model.safetensors');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'inpsect' (did you mean inspect?)");
    const zoo = await mal('zoo', 'tarin');
    expect(zoo.code).toBe(2);
    expect(zoo.stderr).toContain('did you mean train?');
  });

  it('lists the zoo subcommands for `mal zoo`', async () => {
    const r = await mal('zoo');
    expect(r.code).toBe(2);
    for (const sub of ['train', 'add', 'ls', 'show', 'verify'])
      expect(r.stderr).toMatch(new RegExp(`^ {2}${sub} `, 'm'));
  });

  it('reads a negative number as a value and says why it is out of range', async () => {
    const r = await mal('merge', 'a', 'b', '--out', 'c', '--lambda', '-0.1');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--lambda must be a number from 0 to 1, got '-0.1'");
    expect(r.stderr).not.toContain('To specify');
    const limit = await mal('eval', 'm', '--data', 'fashion-mnist:val', '--limit', 'abc');
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain("--limit must be a positive integer, got 'abc'");
    // In range, a negative-looking value passes the checks: the command goes on to the missing file.
    const zero = await mal('merge', 'absent-a.safetensors', 'b', '--out', 'c', '--lambda', '-0');
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('absent-a.safetensors');
  });

  it('runs in-process with the environment and folder it is given, and restores both', async () => {
    const before = { backend: process.env.MAL_BACKEND, cwd: process.cwd() };
    const r = await runMal(['eval', 'model.safetensors', '--data', 'fashion-mnist:val'], {
      env: { MAL_BACKEND: 'bogus' },
      cwd: join(root, 'examples'),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("MAL_BACKEND: unknown backend 'bogus'");
    expect({ backend: process.env.MAL_BACKEND, cwd: process.cwd() }).toEqual(before);
    const relative = await runMal(['inspect', 'models/mlp-base', '--json'], { cwd: join(root, 'examples') });
    expect(relative.code, relative.stderr).toBe(0);
  });

  it('explains in --help why its alignment defaults differ from plans', async () => {
    for (const command of ['align', 'merge', 'lmc']) {
      const help = (await mal(command, '--help')).stdout;
      expect(help).toMatch(/--init <identity\|sorted\|best>[\s\S]*\(default: identity\)/);
      expect(help).toContain("Git Re-Basin's start");
      expect(help).toContain('Plans default to best because');
      expect(help).toContain('Plans cap it at 50 because');
    }
  });
});
