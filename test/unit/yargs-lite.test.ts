// cli/yargs-lite.ts: yargs on a shim without the help-layout modules parses exactly like stock yargs.
import { describe, expect, it } from 'vitest';
import stockYargs from 'yargs';
import { YARGS_PARSER_CONFIG } from '../../cli/options.ts';
import { loadYargs, type YargsFactory } from '../../cli/yargs-lite.ts';

function parse(y: YargsFactory, argv: string[]): unknown {
  return y(argv)
    .parserConfiguration(YARGS_PARSER_CONFIG)
    .string(['remote', 'pidfile', 'verbose'])
    .boolean(['detach', 'no-chdir'])
    .help(false)
    .version(false)
    .exitProcess(false)
    .strict(false)
    .parseSync();
}

describe('yargs-lite', () => {
  it('parses like stock yargs', async () => {
    const lite = await loadYargs();
    expect(lite).not.toBe(stockYargs);
    for (const argv of [
      [],
      ['--remote=punix:a', '--remote=ptcp:1', '--pidfile=', '--no-chdir', '--', 'x.db', '--y'],
      ['--verbose=dbg', '--verbose=', '--detach', '--unknown=3', '--', '1'],
    ]) {
      expect(parse(lite, argv)).toEqual(parse(stockYargs, argv));
    }
  });

  it('refuses to lay out help instead of loading cliui', async () => {
    const lite = await loadYargs();
    expect(() => lite([]).help(false).version(false).exitProcess(false).getHelp()).toThrow(/cliui \(help layout\) is not loaded/);
  });
});
