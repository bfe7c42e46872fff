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
      name: 'broken',
      summary: 'a command whose module fails to load',
      load: async () => {
        throw new Error('no such module');
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

  it('answers `help` with an unknown command as the command itself would be answered', async () => {
    const cases: [string[], string][] = [
      [['help', 'nosuch'], "mal: unknown command 'nosuch'"],
      [['help', 'ecko'], "mal: unknown command 'ecko' (did you mean echo?)"],
      [['help', 'group', 'on'], "mal group: unknown command 'on' (did you mean one?)"],
      [['group', 'help', 'on'], "mal group: unknown command 'on' (did you mean one?)"],
      [['ecko', '--help'], "mal: unknown command 'ecko' (did you mean echo?)"],
      [['group', 'on', '-h'], "mal group: unknown command 'on' (did you mean one?)"],
      [['help', 'echo', 'extra'], "mal help: too many arguments: 'echo' has no subcommands"],
      [['help', 'group', 'one', 'extra'], "mal help: too many arguments: 'group one' has no subcommands"],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n')[0], argv.join(' ')).toBe(message);
      expect(r.err).toMatch(/Run 'mal[a-z ]*--help' for usage\./);
      expect(r.out).toBe('');
    }
  });

  it('prints the same full help for `help group one`, `group help one` and `group one --help`', async () => {
    const direct = await run('group', 'one', '--help');
    expect(direct.code).toBe(0);
    expect(direct.out).toContain('Usage: mal group one [options]');
    expect(direct.out).toContain('--count <n>');
    expect(await run('help', 'group', 'one')).toEqual(direct);
    expect(await run('group', 'help', 'one')).toEqual(direct);
    const group = await run('group', '--help');
    expect(group.code).toBe(0);
    expect(group.out).toMatch(/^ {2}one\s+the first$/m);
    expect(await run('help', 'group')).toEqual(group);
    expect(await run('group', 'help')).toEqual(group);
    // Like the top-level list, a group's list has no `help` command line.
    expect(group.out).not.toMatch(/^ +help\b/m);
    expect((await run('--help')).out).not.toMatch(/^ +help\b/m);
    expect(await run('help')).toEqual(await run('--help'));
  });

  it('reads `--` before the command as the end of options, never as a silent success', async () => {
    expect(await run('--', 'echo')).toEqual({
      code: 2,
      out: '',
      err: "mal echo: --name is required: a name\nRun 'mal echo --help' for usage.",
    });
    // After `--`, every word is an argument, `--name` included.
    const operands = await run('--', 'echo', '--name', 'x');
    expect(operands.code).toBe(2);
    expect(operands.err).toContain("mal echo: too many arguments for 'echo'");
    const none = await run('--');
    expect(none.code).toBe(2);
    expect(none.err).toContain('Usage: mal <command>');
    expect((await run('--', 'nosuch')).err).toContain("mal: unknown command 'nosuch'");
  });

  it('refuses empty values, values given to flags and options given twice', async () => {
    const cases: [string[], string][] = [
      [['echo', '--name', ''], 'mal echo: --name must not be empty'],
      [['echo', '--name='], 'mal echo: --name must not be empty'],
      [['echo', '--name', 'x', '--mode', ''], 'mal echo: --mode must not be empty'],
      [['echo', '--name', 'x', '--count', ''], 'mal echo: --count must not be empty'],
      [['group', 'one', '--name', ''], 'mal group one: --name must not be empty'],
      [['echo', '--name', 'x', '--loud=yes'], "mal echo: --loud takes no value, got '--loud=yes'"],
      [['echo', '--name', 'x', '--loud='], "mal echo: --loud takes no value, got '--loud='"],
      [['echo', '--name', 'x', '--count', '1', '--count', '2'], 'mal echo: --count is given twice'],
      [['echo', '--name', 'x', '--name=x'], 'mal echo: --name is given twice'],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      expect(r, argv.join(' ')).toEqual({
        code: 2,
        out: '',
        err: `${message}\nRun '${message.slice(0, message.indexOf(':'))} --help' for usage.`,
      });
    }
    // A flag given twice is still the flag.
    expect(JSON.parse((await run('echo', '--name', 'x', '--loud', '--loud')).out).loud).toBe(true);
  });

  it('reports a command module that fails to load as an internal error of that command', async () => {
    const r = await run('broken');
    expect(r.code).toBe(70);
    expect(r.err).toMatch(/^mal broken: internal error: Error: no such module\n {4}at /);
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

  it('answers `help` as the command does: unknown commands exit 2, known ones print their full help', async () => {
    const nosuch = await mal('help', 'nosuch');
    expect(nosuch.code).toBe(2);
    expect(nosuch.stdout).toBe('');
    expect(nosuch.stderr).toContain("mal: unknown command 'nosuch'");
    const lss = await mal('help', 'zoo', 'lss');
    expect(lss.code).toBe(2);
    expect(lss.stdout).toBe('');
    expect(lss.stderr).toContain("unknown command 'lss' (did you mean ls?)");
    const ls = await mal('zoo', 'ls', '--help');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain('--zoo <dir>');
    expect(await mal('help', 'zoo', 'ls')).toEqual(ls);
    expect(await mal('zoo', 'help', 'ls')).toEqual(ls);
    const zoo = await mal('zoo', '--help');
    expect(await mal('zoo', 'help')).toEqual(zoo);
    for (const group of ['zoo', 'plan']) {
      const help = await mal(group, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).not.toContain('display help for command');
    }
  });

  it('runs the command after `--`', async () => {
    const r = await runMal(['--', 'inspect', 'models/mlp-base'], { cwd: join(root, 'examples') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toBe('');
    expect(r).toEqual(await runMal(['inspect', 'models/mlp-base'], { cwd: join(root, 'examples') }));
  });

  it('refuses empty values, values given to flags and options given twice, with a pointer to --help', async () => {
    const cases: [string[], string][] = [
      [['merge', 'a', 'b', '--out', ''], 'mal merge: --out must not be empty'],
      [['eval', 'm', '--data', ''], 'mal eval: --data must not be empty'],
      [['zoo', 'ls', '--zoo', ''], 'mal zoo ls: --zoo must not be empty'],
      [['inspect', '--json=yes', 'm'], "mal inspect: --json takes no value, got '--json=yes'"],
      [
        ['merge', 'a', 'b', '--out', 'c', '--lambda', '0.5', '--lambda', '0.7'],
        'mal merge: --lambda is given twice',
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await mal(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `${message}\nRun '${message.slice(0, message.indexOf(':'))} --help' for usage.\n`,
      );
    }
  });

  it('wraps the top-level help at 100 columns, summaries under their first word', async () => {
    const help = (await mal('--help')).stdout;
    const lines = help.split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(100);
    const first = /^ {2}\S+(?: \S+)? +(?=Print a model)/m.exec(help)?.[0];
    expect(first).toBeDefined();
    const next = lines[lines.findIndex((l) => l.includes('Print a model')) + 1] as string;
    expect(next).toMatch(new RegExp(`^ {${first?.length}}\\S`));
    expect(help).toMatch(/^ {2}worker +Run a task worker/m);
  });

  it('names no source file in the alignment notes, and says what --seed seeds', async () => {
    for (const command of ['align', 'merge', 'lmc']) {
      const help = (await mal(command, '--help')).stdout;
      expect(help).not.toMatch(/src\/|\.ts\b/);
      expect(help).toContain('Alignment defaults differ from assembly plans (mal plan schema) on purpose');
      expect(help.replace(/\s+/g, ' ')).toContain("seed for --order random and, in merge, for DARE's drops");
    }
  });

  it('explains in --help why its alignment defaults differ from plans', async () => {
    for (const command of ['align', 'merge', 'lmc']) {
      const help = (await mal(command, '--help')).stdout;
      expect(help).toMatch(
        /--init <name>[\s\S]*one of identity,\s+sorted,\s+best,\s+anchored[\s\S]*\(default:\s+identity\)/,
      );
      expect(help).toContain("Git Re-Basin's start");
      expect(help).toContain('Plans default to best because');
      expect(help).toContain('Plans cap it at 50 because');
    }
  });
});
