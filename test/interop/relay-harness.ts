// Helpers for the relay tests: a Raft cluster of the real C ovsdb-server (ovsdb-tool create-cluster /
// join-cluster, unix sockets in the lab's directory), relay arguments, and waiting for a relay to sync.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { ZERO_UUID } from '../../schema/atom.ts';
import type { JsonValue } from '../../schema/json.ts';
import { JsonRpcClient } from '../../server/jsonrpc.ts';
import { client, waitFor, type Kind, type Lab, type ServerProc } from './replication-harness.ts';

function tool(...args: string[]): void {
  const r = spawnSync('ovsdb-tool', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ovsdb-tool ${args.join(' ')} failed: ${r.stderr}`);
}

/** A 3-member cluster of the real server: members s1..sN serving unix:<dir>/sN.sock. */
export async function startCCluster(lab: Lab, schemaFile: string, dbName: string, n = 3): Promise<ServerProc[]> {
  const raft = (i: number) => `unix:${lab.file(`s${i}.raft`)}`;
  tool('create-cluster', lab.file('s1.db'), schemaFile, raft(1));
  for (let i = 2; i <= n; i++) tool('join-cluster', lab.file(`s${i}.db`), dbName, raft(i), raft(1));
  const members: ServerProc[] = [];
  for (let i = 1; i <= n; i++) members.push(await lab.start('c', `s${i}`, [lab.file(`s${i}.db`)]));
  for (const m of members) await waitConnected(m, dbName);
  return members;
}

/** `_Server.Database` of one database on a server: its row, with the columns the relay cares about. */
export function serverRow(p: ServerProc, db: string): Record<string, unknown> | null {
  const r = client(
    'transact',
    p.remote,
    JSON.stringify(['_Server', { op: 'select', table: 'Database', where: [['name', '==', db]], columns: ['name', 'model', 'connected', 'leader', 'schema', 'cid', 'sid', 'index'] }]),
  );
  if (r.code !== 0) return null;
  const rows = (JSON.parse(r.stdout) as { rows: Record<string, unknown>[] }[])[0].rows;
  return rows[0] ?? null;
}

export async function waitConnected(p: ServerProc, db: string): Promise<void> {
  await waitFor(() => {
    const row = serverRow(p, db);
    return row !== null && row.connected === true && typeof row.schema === 'string';
  }, `${p.name}: ${db} connected`);
}

/** The last transaction id a server reports for a database (monitor_cond_since from nothing). */
export async function lastTxnId(p: ServerProc, db: string): Promise<{ found: boolean; id: string }> {
  const c = await JsonRpcClient.connect(p.remote);
  try {
    const r = (await c.request('monitor_cond_since', [db, 'probe', {}, ZERO_UUID])) as JsonValue[];
    return { found: r[0] as boolean, id: r[1] as string };
  } finally {
    c.close();
  }
}

/** Start a relay of `db` from `sources`. */
export function startRelay(lab: Lab, kind: Kind, name: string, db: string, sources: ServerProc[], extra: string[] = []): Promise<ServerProc> {
  return lab.start(kind, name, [`relay:${db}:${sources.map((s) => s.remote).join(',')}`], extra);
}

/** The source a relay is connected to now, from its log (`reconnect|INFO|unix:…: connected`). */
export function currentSource(relay: ServerProc): string | null {
  const lines = relay.log().split('\n').filter((l) => /\|reconnect\|INFO\|.*: connected$/.test(l));
  const last = lines.at(-1);
  return last === undefined ? null : last.replace(/^.*\|reconnect\|INFO\|/, '').replace(/: connected$/, '');
}

export function writeSchemaVersion(lab: Lab, file: string, schema: { version: string }, version: string): string {
  return lab.writeSchema(file, { ...schema, version });
}

export function exists(path: string): boolean {
  return fs.existsSync(path);
}
