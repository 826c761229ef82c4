// A database file whose last transaction record does not apply (upstream ovsdb-server.at "truncating
// database log with bad transaction"): both servers log the reference's error text for it, keep the data
// before it, and cut it off with their next write.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { describe, it, expect, afterAll } from 'vitest';
import { TempDir, IMPLS, OUR_SERVER, REAL_SERVER, run } from './lib/harness.ts';

const tmp = new TempDir();
afterAll(() => tmp.cleanup());

const SCHEMA = { name: 'ordinals', tables: { ordinals: { columns: { number: { type: 'integer' }, name: { type: 'string' } } } } };
const ROW = '11111111-2222-3333-4444-555555555555';

/** A record as the file format frames it: length and SHA-1 cover the JSON text and its newline. */
function record(json: string): string {
  const body = `${json}\n`;
  return `OVSDB JSON ${Buffer.byteLength(body)} ${crypto.createHash('sha1').update(body).digest('hex')}\n${body}`;
}

// Records that do not apply, each after one good insert of ROW.
const BAD: [string, string][] = [
  ['unknown table', '{"invalid":{}}'],
  ['unknown column', `{"ordinals":{"${ROW}":{"nope":1}}}`],
  ['bad uuid', '{"ordinals":{"not-a-uuid":{"number":1}}}'],
  ['delete of a missing row', '{"ordinals":{"99999999-2222-3333-4444-555555555555":null}}'],
  ['row not an object', `{"ordinals":{"${ROW}":5}}`],
  ['table not an object', '{"ordinals":[]}'],
  ['unknown member beginning with _', '{"_nope":1}'],
];

async function stderrOf(impl: 'ours' | 'real', name: string, bad: string): Promise<string> {
  const schema = tmp.file('schema');
  fs.writeFileSync(schema, JSON.stringify(SCHEMA));
  const db = tmp.file(`${impl}-${name.replace(/ /g, '-')}.db`);
  expect((await run('ovsdb-tool', ['create', db, schema])).code).toBe(0);
  fs.appendFileSync(db, record(`{"ordinals":{"${ROW}":{"number":0,"name":"zero"}}}`) + record(bad));
  const sock = `${db}.sock`;
  const txn = `ovsdb-client transact unix:${sock} '["ordinals",{"op":"insert","table":"ordinals","row":{"number":1,"name":"one"}}]' >/dev/null`;
  const r = await run(impl === 'ours' ? OUR_SERVER : REAL_SERVER, [`--remote=punix:${sock}`, `--unixctl=${db}.ctl`, db, `--run=${txn}`], { env: tmp.env });
  expect(r.code, r.stderr).toBe(0);
  // The good row survived; the bad record was cut off by the next write.
  const q = await run('ovsdb-tool', ['query', db, '["ordinals",{"op":"select","table":"ordinals","where":[],"columns":["name"],"sort":["name"]}]']);
  expect(q.stdout, q.stderr).toBe('[{"rows":[{"name":"one"},{"name":"zero"}]}]\n');
  return r.stderr.replace(/^\S+\|\d+\|/gm, '');
}

describe('a transaction record that does not apply', () => {
  for (const [name, bad] of BAD) {
    it(`${name}: the reference's error text`, async () => {
      const ours = await stderrOf('ours', name, bad);
      const real = await stderrOf('real', name, bad);
      expect(ours).toBe(real);
      if (name === 'unknown table') expect(real).toBe('ovsdb_server|ERR|syntax "{"invalid":{}}": unknown table: No table named invalid.\n');
    });
  }
});
