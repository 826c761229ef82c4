// Shared helpers for the monitor and history tests (not a test file itself).
import { versionUuid } from '../../storage/row.ts';
import { expect } from 'vitest';
import { OvsdbError } from '../../schema/error.ts';
import { parseJson, type JsonObject, type JsonValue } from '../../schema/json.ts';
import type { Database } from '../../storage/database.ts';
import { createDatabase, transactJson } from '../../storage/index.ts';
import { CommitHistory } from '../../server/history.ts';
import { MonitorSet, type Monitor } from '../../server/monitor.ts';

export const MON_SCHEMA = {
  name: 'Mon',
  version: '1.0.0',
  tables: {
    T: {
      columns: {
        x: { type: 'integer' },
        name: { type: 'string' },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
        opt: { type: { key: 'integer', min: 0, max: 1 } },
        m: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        b: { type: 'boolean' },
      },
    },
    C: { columns: { v: { type: 'integer' } } },
  },
};

export const U1 = '11111111-1111-1111-1111-111111111111';
export const U2 = '22222222-2222-2222-2222-222222222222';
export const U3 = '33333333-3333-3333-3333-333333333333';

export function txnId(n: number): string {
  return `00000000-0000-0000-0000-${n.toString(16).padStart(12, '0')}`;
}

/** A database with a MonitorSet and a CommitHistory wired to its commits (txn ids 0…01, 0…02, …). */
export class Fixture {
  readonly db: Database;
  readonly set: MonitorSet;
  readonly history: CommitHistory;
  commits = 0;

  /** With `boundByAtoms`, the history is bounded by the database's atoms as the server does. */
  constructor(historyOpts?: ConstructorParameters<typeof CommitHistory>[0], boundByAtoms = false) {
    this.db = createDatabase(MON_SCHEMA);
    this.set = new MonitorSet(this.db);
    this.history = new CommitHistory({ ...historyOpts, boundByAtoms });
    this.db.onCommit((c) => {
      const id = txnId(++this.commits);
      this.history.record(id, c, this.db.atoms);
      this.set.onCommit(c, id);
    });
  }

  tx(...ops: JsonValue[]): JsonValue[] {
    const r = transactJson(this.db, ops);
    for (const x of r) {
      if (x !== null && typeof x === 'object' && !Array.isArray(x) && 'error' in x) {
        throw new Error(`transaction failed: ${JSON.stringify(r)}`);
      }
    }
    return r;
  }

  insert(table: string, uuid: string, row: JsonObject): void {
    this.tx({ op: 'insert', table, uuid, row });
  }

  update(table: string, uuid: string, row: JsonObject): void {
    this.tx({ op: 'update', table, where: [['_uuid', '==', ['uuid', uuid]]], row });
  }

  delete(table: string, uuid: string): void {
    this.tx({ op: 'delete', table, where: [['_uuid', '==', ['uuid', uuid]]] });
  }

  monitor(id: JsonValue, version: 1 | 2 | 3, requests: JsonValue): Monitor {
    return this.set.create(id, version, requests);
  }

  version(table: string, uuid: string): string {
    return versionUuid(this.db.table(table).rows.get(uuid)!.version);
  }
}

/** Takes every unsent message of a monitor, parsed. */
export function take(m: Monitor): JsonValue[] {
  const out: JsonValue[] = [];
  for (let s = m.takeUpdate(); s !== null; s = m.takeUpdate()) out.push(parseJson(s));
  return out;
}

/** The error a function throws, as its OVSDB JSON. */
export function errorOf(fn: () => unknown): JsonObject {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OvsdbError);
    return (e as OvsdbError).toJson();
  }
  throw new Error('expected an OvsdbError');
}
