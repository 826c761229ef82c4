// Schema parsing errors (compared live with `ovsdb-tool schema-name`) and schema normalization (compared
// with what a real ovsdb-server's get_schema returns for the same file), reference §3.13.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbError } from '../../schema/error.ts';
import { parseJson, stringify, type JsonValue } from '../../schema/json.ts';
import { parseSchema, schemasEqual, schemaToJson } from '../../schema/schema.ts';
import { typeToEnglish } from '../../schema/types.ts';
import { parseColumnType } from '../../schema/schema.ts';
import { OPS_SCHEMA, REFS_SCHEMA } from './engine-helpers.ts';

const haveTools = ['ovsdb-server', 'ovsdb-tool', 'ovsdb-client'].every((b) => spawnSync(b, ['--version']).status === 0);
const REAL_SCHEMAS = [
  '/usr/share/openvswitch/vswitch.ovsschema',
  '/usr/share/ovn/ovn-nb.ovsschema',
  '/usr/share/ovn/ovn-sb.ovsschema',
];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-test-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function ourError(json: JsonValue): string {
  try {
    parseSchema(json);
  } catch (e) {
    if (e instanceof OvsdbError) return e.render();
    throw e;
  }
  return 'no error';
}

const BAD: [string, string][] = [
  ['reserved table name', '{"name":"X","tables":{"_A":{"columns":{"a":{"type":"integer"}}}}}'],
  ['reserved column name', '{"name":"X","tables":{"A":{"columns":{"_a":{"type":"integer"}}}}}'],
  ['no columns', '{"name":"X","tables":{"A":{"columns":{}}}}'],
  ['bad version', '{"name":"X","version":"1.2","tables":{"A":{"columns":{"a":{"type":"integer"}}}}}'],
  ['unknown atomic type', '{"name":"X","tables":{"A":{"columns":{"a":{"type":"nope"}}}}}'],
  ['min 2', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":"integer","min":2}}}}}}'],
  ['max 0', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":"integer","max":0}}}}}}'],
  ['max lots', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":"integer","max":"lots"}}}}}}'],
  ['undefined refTable', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":{"type":"uuid","refTable":"B"}}}}}}}'],
  ['maxRows 0', '{"name":"X","tables":{"A":{"maxRows":0,"columns":{"a":{"type":"integer"}}}}}'],
  ['indexed ephemeral', '{"name":"X","tables":{"A":{"columns":{"a":{"type":"integer","ephemeral":true}},"indexes":[["a"]]}}}'],
  ['empty index', '{"name":"X","tables":{"A":{"columns":{"a":{"type":"integer"}},"indexes":[[]]}}}'],
  ['index on unknown column', '{"name":"X","tables":{"A":{"columns":{"a":{"type":"integer"}},"indexes":[["b"]]}}}'],
  ['minInteger > maxInteger', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":{"type":"integer","minInteger":5,"maxInteger":1}}}}}}}'],
  ['minReal > maxReal', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":{"type":"real","minReal":3,"maxReal":1}}}}}}}'],
  ['minLength > maxLength', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":{"type":"string","minLength":3,"maxLength":1}}}}}}}'],
  ['negative maxLength', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":{"type":"string","maxLength":-1}}}}}}}'],
  ['bad refType', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":{"type":"uuid","refTable":"A","refType":"x"}}}}}}}'],
  ['unknown column member', '{"name":"X","tables":{"A":{"columns":{"a":{"type":"integer","foo":1}}}}}'],
  // With 2+ unknown members the one named depends on hash order, so only one here.
  ['unknown table member', '{"name":"X","tables":{"A":{"columns":{"a":{"type":"integer"}},"foo":1}}}'],
  ['all tables isRoot false', '{"name":"X","tables":{"A":{"isRoot":"no","columns":{"a":{"type":"integer"}}}}}'],
  ['missing name', '{"tables":{}}'],
  ['name not an id', '{"name":"1X","tables":{}}'],
  ['column name not an id', '{"name":"X","tables":{"A":{"columns":{"1a":{"type":"integer"}}}}}'],
  ['enum of the wrong type', '{"name":"X","tables":{"A":{"columns":{"a":{"type":{"key":{"type":"integer","enum":["set",["a"]]}}}}}}}'],
];

describe('schema parse errors', () => {
  it.each(BAD)('%s', (_name, text) => {
    const ours = ourError(parseJson(text));
    expect(ours).not.toBe('no error');
    if (!haveTools) return;
    const file = path.join(dir, 'bad.ovsschema');
    fs.writeFileSync(file, text);
    const r = spawnSync('ovsdb-tool', ['schema-name', file], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    const real = r.stderr.trim().replace(/^ovsdb-tool: /, '').replace(`failed to parse "${file}" as ovsdb schema: `, '');
    expect(ours).toBe(real);
  });
  // "Object expected." errors for a table or column that is not an object carry no syntax member in the
  // reference (ovsdb-tool prints no `syntax "...":` prefix), and neither do ours.
  it.each([
    ['table not an object', '{"name":"X","tables":{"A":5}}', 'syntax error: Parsing table schema for table A failed: Object expected.'],
    ['column not an object', '{"name":"X","tables":{"A":{"columns":{"a":5}}}}', 'syntax error: Parsing schema for column a failed: Object expected.'],
  ])('%s', (_name, text, expected) => {
    expect(ourError(parseJson(text))).toBe(expected);
  });
});

describe('type phrases', () => {
  it.each([
    ['integer', 'integer'],
    [{ key: 'real', min: 0, max: 1 }, 'set of up to 1 reals'],
    [{ key: 'integer', min: 1, max: 2 }, 'set of 1 to 2 integers'],
    [{ key: 'string', min: 0, max: 'unlimited' }, 'set of strings'],
    [{ key: 'uuid', min: 1, max: 'unlimited' }, 'set of 1 or more uuids'],
    [{ key: 'boolean', min: 0, max: 2 }, 'set of up to 2 booleans'],
    [{ key: 'string', value: 'string', min: 0, max: 'unlimited' }, 'map of (string, string) pairs'],
    [{ key: 'string', value: 'integer', min: 1, max: 1 }, 'map of exactly 1 (string, integer) pairs'],
    [{ key: 'integer', value: 'real', min: 1, max: 2 }, 'map of 1 to 2 (integer, real) pairs'],
  ] as [JsonValue, string][])('%j → %s', (json, phrase) => {
    expect(typeToEnglish(parseColumnType(json))).toBe(phrase);
  });
});

describe('normalization (no server needed)', () => {
  it('drops defaults, collapses scalars, keeps constraints', () => {
    const s = parseSchema({
      name: 'N',
      version: '1.0.0',
      tables: {
        A: {
          columns: {
            a: { type: { key: 'integer', min: 1, max: 1 } },
            b: { type: { key: { type: 'integer', minInteger: -9223372036854775808n, maxInteger: 9223372036854775807n } } },
            c: { type: { key: { type: 'string', minLength: 0, maxLength: 4294967295 } }, ephemeral: false, mutable: true },
            d: { type: { key: { type: 'integer', minInteger: 1 } } },
            e: { type: { key: { type: 'string', enum: 'x' }, min: 0, max: 'unlimited' }, ephemeral: true, mutable: false },
            f: { type: { key: { type: 'uuid', refTable: 'A', refType: 'strong' }, min: 0, max: 1 } },
            g: { type: { key: { type: 'uuid', refTable: 'A', refType: 'weak' }, min: 0, max: 1 }, mutable: false },
          },
          isRoot: false,
          maxRows: 5,
        },
      },
    });
    expect(schemaToJson(s)).toEqual({
      name: 'N',
      version: '1.0.0',
      tables: {
        A: {
          columns: {
            a: { type: 'integer' },
            b: { type: 'integer' },
            c: { type: 'string' },
            d: { type: { key: { type: 'integer', minInteger: 1 } } },
            e: { type: { key: { type: 'string', enum: 'x' }, min: 0, max: 'unlimited' }, ephemeral: true, mutable: false },
            f: { type: { key: { type: 'uuid', refTable: 'A' }, min: 0 } },
            g: { type: { key: { type: 'uuid', refTable: 'A', refType: 'weak' }, min: 0 } }, // weak refs are always mutable
          },
          maxRows: 5, // isRoot false is dropped: no table declares isRoot true, so every table is a root
        },
      },
    });
  });
  it('isRoot is written only where it differs from the default (root when every table is a root)', () => {
    const cols = { columns: { a: { type: 'integer' } } };
    const tables = (json: JsonValue) => (schemaToJson(parseSchema(json)).tables as Record<string, Record<string, JsonValue>>);
    expect(tables({ name: 'R', tables: { A: { ...cols, isRoot: true }, B: { ...cols, isRoot: true } } })).toEqual({ A: cols, B: cols });
    expect(tables({ name: 'R', tables: { A: { ...cols, isRoot: false }, B: cols } })).toEqual({ A: cols, B: cols });
    expect(tables({ name: 'R', tables: { A: { ...cols, isRoot: true }, B: { ...cols, isRoot: false }, C: cols } })).toEqual({
      A: { ...cols, isRoot: true },
      B: cols,
      C: cols,
    });
  });
  it('a strong reference to a non-root table is forced persistent; equality includes version', () => {
    const base = {
      name: 'P',
      version: '1.0.0',
      tables: {
        R: { isRoot: true, columns: { k: { type: { key: { type: 'uuid', refTable: 'C' }, min: 0, max: 'unlimited' }, ephemeral: true } } },
        C: { columns: { n: { type: 'integer' } } },
      },
    };
    const s = parseSchema(base);
    expect(schemaToJson(s).tables).toEqual({
      R: { columns: { k: { type: { key: { type: 'uuid', refTable: 'C' }, min: 0, max: 'unlimited' } } }, isRoot: true },
      C: { columns: { n: { type: 'integer' } } },
    });
    expect(schemasEqual(s, parseSchema(base))).toBe(true);
    expect(schemasEqual(s, parseSchema({ ...base, version: '1.0.1' }))).toBe(false);
    expect(schemasEqual(s, parseSchema({ ...base, cksum: '1 2' }))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Against the real server: get_schema for the same file.

/** Starts ovsdb-server on a fresh database made from `schemaFile`, returns get-schema's output, stops it. */
async function realGetSchema(schemaFile: string, tag: string): Promise<JsonValue> {
  const db = path.join(dir, `${tag}.db`);
  const sock = path.join(dir, `${tag}.sock`);
  const ctl = path.join(dir, `${tag}.ctl`);
  const mk = spawnSync('ovsdb-tool', ['create', db, schemaFile], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(mk.stderr);
  const name = spawnSync('ovsdb-tool', ['schema-name', schemaFile], { encoding: 'utf8' }).stdout.trim();
  const server = spawn('ovsdb-server', [db, `--remote=punix:${sock}`, `--unixctl=${ctl}`, '--no-chdir', '-vconsole:off'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  try {
    for (let i = 0; !fs.existsSync(sock); i++) {
      if (i > 2000 || server.exitCode !== null) throw new Error('ovsdb-server did not start');
      await new Promise((r) => setTimeout(r, 5));
    }
    const getSchema = () =>
      new Promise<string>((resolve, reject) => {
        const c = spawn('ovsdb-client', ['get-schema', `unix:${sock}`, name], { stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        let errText = '';
        c.stdout.on('data', (d: Buffer) => (text += d.toString()));
        c.stderr.on('data', (d: Buffer) => (errText += d.toString()));
        c.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(errText))));
      });
    // The socket file appears at bind(), a moment before listen(): a connection in between is refused.
    for (let attempt = 1; ; attempt++) {
      try {
        return parseJson(await getSchema());
      } catch (e) {
        if (attempt >= 100 || !(e as Error).message.includes('Connection refused')) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } finally {
    server.kill('SIGTERM');
    await exited;
  }
}

describe.skipIf(!haveTools)('normalization equals the real server\'s get_schema', () => {
  const files: [string, () => string][] = [
    ...REAL_SCHEMAS.map((f): [string, () => string] => [path.basename(f), () => f]),
    ['Ops test schema', () => writeSchema('ops', OPS_SCHEMA)],
    ['Refs test schema', () => writeSchema('refs', REFS_SCHEMA)],
  ];
  function writeSchema(tag: string, json: JsonValue): string {
    const f = path.join(dir, `${tag}.ovsschema`);
    fs.writeFileSync(f, stringify(json));
    return f;
  }
  it.each(files)('%s', async (label, file) => {
    const f = file();
    const ours = schemaToJson(parseSchema(parseJson(fs.readFileSync(f, 'utf8'))));
    const real = await realGetSchema(f, label.replace(/[^A-Za-z0-9]/g, '_'));
    expect(ours).toEqual(real);
  });
});
