// Differential harness: runs a case's transactions through the real ovsdb-server (fresh database per
// case, JSON-RPC over a unix socket with a tiny client written here) and through our engine
// (storage/index.ts transactJson), and normalizes both answers with normalize.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonValue } from '../../schema/json.ts';
import { JsonStreamSplitter, parseJson, stringifyJson } from './jsontext.ts';
import { normalizeCase, substituteRefs } from './normalize.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../..');
export const CASES_DIR = path.join(REPO, 'fixtures/differential');
export const SCHEMAS_DIR = path.join(REPO, 'fixtures/schemas');

export interface DiffCase {
  name: string;
  /** A file name in fixtures/schemas/, or an absolute path to an installed schema. */
  schema: string;
  /** Operation lists without the database name; "@T.I" UUIDs refer to earlier inserts' results. */
  transactions: JsonValue[][];
  /** The real server's normalized result arrays, one per transaction (recorded by record.ts). */
  expected?: JsonValue[][];
  note?: string;
}

export interface CaseFile {
  file: string;
  cases: DiffCase[];
}

// ---------------------------------------------------------------------------------------------------
// Case files

export function schemaPath(schema: string): string {
  return path.isAbsolute(schema) ? schema : path.join(SCHEMAS_DIR, schema);
}

export function loadCaseFiles(only?: string[]): CaseFile[] {
  const files = only ?? fs.readdirSync(CASES_DIR).filter((f) => f.endsWith('.json')).sort();
  return files.map((f) => {
    const file = path.isAbsolute(f) ? f : path.join(CASES_DIR, path.basename(f));
    const data = parseJson(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(data)) throw new Error(`${file}: top level must be an array of cases`);
    return { file, cases: data.map((c, i) => checkCase(c, `${path.basename(file)}[${i}]`)) };
  });
}

function checkCase(c: JsonValue, where: string): DiffCase {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error(`${where}: case must be an object`);
  const { name, schema, transactions, expected, note } = c;
  if (typeof name !== 'string') throw new Error(`${where}: "name" must be a string`);
  if (typeof schema !== 'string') throw new Error(`${where} (${name}): "schema" must be a string`);
  const isListOfLists = (v: JsonValue | undefined): v is JsonValue[][] =>
    Array.isArray(v) && v.every((t) => Array.isArray(t));
  if (!isListOfLists(transactions)) throw new Error(`${where} (${name}): "transactions" must be an array of arrays`);
  if (expected !== undefined && !isListOfLists(expected)) throw new Error(`${where} (${name}): bad "expected"`);
  const out: DiffCase = { name, schema, transactions };
  if (expected !== undefined) out.expected = expected;
  if (typeof note === 'string') out.note = note;
  return out;
}

/** Structural checks on recorded expectations: one array per transaction, ops or ops+1 long. */
export function checkExpectedShape(c: DiffCase): string[] {
  const problems: string[] = [];
  if (!c.expected) return [`${c.name}: no recorded "expected" (run record.ts)`];
  if (c.expected.length !== c.transactions.length) problems.push(`${c.name}: expected has wrong number of results`);
  c.transactions.forEach((ops, t) => {
    const r = c.expected![t];
    if (!r) return;
    const n = ops.length;
    if (r.length !== n && r.length !== n + 1) problems.push(`${c.name}: txn ${t} result length ${r.length} for ${n} ops`);
    const failAt = r.findIndex((x) => typeof x === 'object' && x !== null && !Array.isArray(x) && 'error' in x);
    if (failAt >= 0 && r.slice(failAt + 1).some((x) => x !== null)) problems.push(`${c.name}: txn ${t} non-null after error`);
    if (r.length === n + 1 && failAt !== n) problems.push(`${c.name}: txn ${t} extra element is not a commit error`);
  });
  return problems;
}

/** Case files are rewritten by record.ts in this layout: one op / one result per line. */
export function formatCaseFile(cases: DiffCase[]): string {
  const lines: string[] = ['['];
  cases.forEach((c, ci) => {
    lines.push('  {');
    lines.push(`    "name": ${JSON.stringify(c.name)},`);
    if (c.note !== undefined) lines.push(`    "note": ${JSON.stringify(c.note)},`);
    lines.push(`    "schema": ${JSON.stringify(c.schema)},`);
    const block = (key: string, lists: JsonValue[][], last: boolean, sortKeys: boolean) => {
      lines.push(`    "${key}": [`);
      lists.forEach((list, i) => {
        const tail = i === lists.length - 1 ? '' : ',';
        if (list.length === 0) {
          lines.push(`      []${tail}`);
          return;
        }
        lines.push('      [');
        list.forEach((x, j) => lines.push(`        ${stringifyJson(x, sortKeys)}${j === list.length - 1 ? '' : ','}`));
        lines.push(`      ]${tail}`);
      });
      lines.push(`    ]${last ? '' : ','}`);
    };
    block('transactions', c.transactions, c.expected === undefined, false);
    if (c.expected) block('expected', c.expected, true, true);
    lines.push(`  }${ci === cases.length - 1 ? '' : ','}`);
  });
  lines.push(']');
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------
// The real ovsdb-server

export function realServerAvailable(): boolean {
  return ['ovsdb-server', 'ovsdb-tool'].every((b) => spawnSync(b, ['--version']).status === 0);
}

/** Runs cases against the real server: one fresh server process and database file per case. */
export class RealServerRunner {
  readonly dir: string;
  private templates = new Map<string, { file: string; dbName: string }>();
  private seq = 0;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-diff-'));
  }

  /** An empty database file for the schema, made once with `ovsdb-tool create` and copied per case. */
  private template(schema: string): { file: string; dbName: string } {
    let t = this.templates.get(schema);
    if (!t) {
      const file = path.join(this.dir, `template${this.templates.size}.db`);
      const sp = schemaPath(schema);
      const r = spawnSync('ovsdb-tool', ['create', file, sp], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ovsdb-tool create ${sp} failed: ${r.stderr}`);
      const dbName = (JSON.parse(fs.readFileSync(sp, 'utf8')) as { name: string }).name;
      t = { file, dbName };
      this.templates.set(schema, t);
    }
    return t;
  }

  async run(c: DiffCase): Promise<JsonValue[][]> {
    const { file: template, dbName } = this.template(c.schema);
    const n = this.seq++;
    const db = path.join(this.dir, `c${n}.db`);
    const sock = path.join(this.dir, `c${n}.sock`);
    fs.copyFileSync(template, db);
    const server = spawn(
      'ovsdb-server',
      [db, `--remote=punix:${sock}`, '--no-chdir', `--unixctl=${path.join(this.dir, `c${n}.ctl`)}`, '-vconsole:off'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    try {
      const client = await RpcClient.connect(sock, server, () => stderr);
      try {
        const results: JsonValue[][] = [];
        for (const ops of c.transactions) {
          const sent = substituteRefs(ops, results);
          const reply = await client.request('transact', [dbName, ...sent]);
          if (!Array.isArray(reply)) throw new Error(`transact did not return an array: ${stringifyJson(reply)}`);
          results.push(reply);
        }
        return results;
      } finally {
        client.close();
      }
    } finally {
      server.kill('SIGTERM');
      await exited;
      for (const f of [db, sock]) fs.rmSync(f, { force: true });
    }
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Minimal JSON-RPC 1.0 client over a unix socket: one outstanding request at a time, answers echo. */
class RpcClient {
  private splitter = new JsonStreamSplitter();
  private nextId = 1;
  private pending: { id: number; resolve: (v: JsonValue) => void; reject: (e: Error) => void } | null = null;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      for (const text of this.splitter.push(chunk)) this.onMessage(parseJson(text));
    });
    sock.on('close', () => this.pending?.reject(new Error('connection closed')));
  }

  static async connect(file: string, server: ChildProcess, stderr: () => string): Promise<RpcClient> {
    for (let attempt = 0; ; attempt++) {
      if (server.exitCode !== null) throw new Error(`ovsdb-server exited early: ${stderr()}`);
      try {
        const sock = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(file);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        return new RpcClient(sock);
      } catch (e) {
        if (attempt > 1000) throw new Error(`cannot connect to ${file}: ${String(e)}; ${stderr()}`);
        await new Promise((r) => setTimeout(r, 3));
      }
    }
  }

  private onMessage(msg: JsonValue): void {
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return;
    if (msg.method === 'echo' && msg.id !== undefined) {
      this.sock.write(stringifyJson({ id: msg.id, result: msg.params ?? [], error: null }));
      return;
    }
    const p = this.pending;
    if (p && msg.id === p.id) {
      this.pending = null;
      if (msg.error !== null && msg.error !== undefined) p.reject(new Error(`RPC error: ${stringifyJson(msg.error)}`));
      else p.resolve(msg.result ?? null);
    }
  }

  request(method: string, params: JsonValue[]): Promise<JsonValue> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending = { id, resolve, reject };
      this.sock.write(stringifyJson({ method, params, id }));
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------
// Our engine

export interface Engine {
  createDatabase(schemaJson: unknown): unknown;
  transactJson(db: unknown, ops: JsonValue[]): JsonValue[];
}

/** Our engine if storage/index.ts exports it yet, else the reason it is unavailable. */
export async function loadEngine(): Promise<Engine | string> {
  const modulePath = path.join(REPO, 'storage/index.ts');
  if (!fs.existsSync(modulePath)) return 'storage/index.ts does not exist yet';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(modulePath)) as Record<string, unknown>;
  } catch (e) {
    return `storage/index.ts failed to load: ${String(e)}`;
  }
  const { createDatabase, transactJson } = mod;
  if (typeof createDatabase !== 'function' || typeof transactJson !== 'function') {
    return 'storage/index.ts does not export createDatabase and transactJson yet';
  }
  return { createDatabase, transactJson } as Engine;
}

const schemaCache = new Map<string, JsonValue>();

export function runOurs(engine: Engine, c: DiffCase): JsonValue[][] {
  let schema = schemaCache.get(c.schema);
  if (schema === undefined) {
    schema = parseJson(fs.readFileSync(schemaPath(c.schema), 'utf8'));
    schemaCache.set(c.schema, schema);
  }
  const db = engine.createDatabase(schema);
  const results: JsonValue[][] = [];
  for (const ops of c.transactions) results.push(engine.transactJson(db, substituteRefs(ops, results)));
  return results;
}

export function normalize(c: DiffCase, results: JsonValue[][]): JsonValue[][] {
  return normalizeCase(c.transactions, results);
}
