// yargs, built on a platform shim of our own: yargs's stock Node shim imports cliui and two copies of
// string-width, whose Unicode regular expressions (and Intl.Segmenter) cost ~80 ms to compile at every
// start, only to lay out --help screens.  We never let yargs print help (options.ts turns help,
// version, strict mode and process exits off; getopt.ts owns --help), so this shim provides the same
// parts as the stock one (yargs-parser, y18n, escalade, get-caller-file, node:path/fs/util) and leaves
// out only the layout pair, which now throws if ever reached.
//
// The yargs factory is not in yargs's package exports, so it is loaded by file path.  Should a yargs
// release move it, loadYargs() falls back to the stock `import('yargs')`: slower, same parse.
import { notStrictEqual, strictEqual } from 'node:assert';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import type yargsType from 'yargs';

/** The yargs entry: `yargs(argv)` gives an Argv builder (the default export of 'yargs'). */
export type YargsFactory = typeof yargsType;

function notLoaded(what: string): () => never {
  return () => {
    throw new Error(`yargs ${what} is not loaded (ovsdb-ts prints its own help)`);
  };
}

async function loadLite(): Promise<YargsFactory> {
  const yargsIndex = createRequire(import.meta.url).resolve('yargs');
  const fromYargs = createRequire(yargsIndex);
  const inYargs = (rel: string) => pathToFileURL(path.join(path.dirname(yargsIndex), rel)).href;
  const [factoryModule, argvModule, parserModule] = (await Promise.all([
    import(inYargs('build/lib/yargs-factory.js')),
    import(inYargs('build/lib/utils/process-argv.js')),
    import(pathToFileURL(fromYargs.resolve('yargs-parser')).href),
  ])) as [
    { YargsFactory: (shim: unknown) => YargsFactory },
    { getProcessArgvBin: () => string },
    { default: unknown },
  ];
  const y18n = fromYargs('y18n') as (opts: { directory: string; updateFiles: boolean }) => unknown;
  const escalade = fromYargs('escalade/sync') as unknown;
  const getCallerFile = fromYargs('get-caller-file') as (position?: number) => string;
  const mainFilename = yargsIndex.substring(0, yargsIndex.lastIndexOf('node_modules'));
  const shim = {
    assert: { notStrictEqual, strictEqual },
    cliui: notLoaded('cliui (help layout)'),
    findUp: escalade,
    getEnv: (key: string) => process.env[key],
    inspect,
    getProcessArgvBin: argvModule.getProcessArgvBin,
    mainFilename: mainFilename || process.cwd(),
    Parser: parserModule.default,
    path: {
      basename: path.basename,
      dirname: path.dirname,
      extname: path.extname,
      relative: path.relative,
      resolve: path.resolve,
      join: path.join,
    },
    process: {
      argv: () => process.argv,
      cwd: process.cwd,
      emitWarning: (warning: string, type?: string) => process.emitWarning(warning, type),
      execPath: () => process.execPath,
      exit: (code: number) => process.exit(code),
      nextTick: process.nextTick,
      stdColumns: typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null,
    },
    readFileSync: fs.readFileSync,
    readdirSync: fs.readdirSync,
    require: fromYargs,
    getCallerFile: () => {
      const callerFile = getCallerFile(3);
      return callerFile.startsWith('file://') ? fileURLToPath(callerFile) : callerFile;
    },
    stringWidth: notLoaded('string-width (help layout)'),
    y18n: y18n({ directory: path.join(path.dirname(yargsIndex), 'locales'), updateFiles: false }),
  };
  return factoryModule.YargsFactory(shim);
}

/** yargs with the lean shim, or stock yargs if its files are not where this yargs keeps them. */
export async function loadYargs(): Promise<YargsFactory> {
  try {
    return await loadLite();
  } catch {
    return (await import('yargs')).default;
  }
}
