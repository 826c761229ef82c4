// Which active schema a backup can replicate (reference §5.2 step 3): the same schema, or one whose every
// table and column exists locally with an identical normalized column definition.
import { stringifySorted } from '../schema/json.ts';
import { schemasEqual, tableSchemaToJson, type DatabaseSchema, type TableSchema } from '../schema/schema.ts';

export type CompatLog = (level: 'INFO' | 'WARN', message: string) => void;

function columnDefs(t: TableSchema): Map<string, string> {
  const cols = tableSchemaToJson(t, false).columns as Record<string, unknown>;
  const out = new Map<string, string>();
  for (const [name, def] of Object.entries(cols)) out.set(name, stringifySorted(def as never));
  return out;
}

/**
 * True if `active` can be replicated into a local database with schema `local`, logging as the reference
 * does. The monitor request is then built from `active`.
 */
export function canReplicate(local: DatabaseSchema, active: DatabaseSchema, log: CompatLog): boolean {
  if (schemasEqual(local, active)) return true;
  const name = local.name;
  log('INFO', `Schema version mismatch, checking if ${name} can still be replicated or not.`);
  const problem = firstIncompatibility(local, active);
  if (problem !== null) {
    log('INFO', problem);
    log('INFO', `${name} cannot be replicated.`);
    return false;
  }
  log('INFO', `${name} can be replicated.`);
  return true;
}

function firstIncompatibility(local: DatabaseSchema, active: DatabaseSchema): string | null {
  for (const [tname, at] of active.tables) {
    const lt = local.tables.get(tname);
    if (lt === undefined) return `Table ${tname} not present in the local db schema`;
    const localCols = columnDefs(lt);
    for (const [cname, def] of columnDefs(at)) {
      const mine = localCols.get(cname);
      if (mine === undefined) return `Column ${cname} not present in the local db schema table ${tname}.`;
      if (mine !== def) return `Column ${cname} mismatch in local db schema table ${tname}.`;
    }
  }
  return null;
}
