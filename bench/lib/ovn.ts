// OVN_Northbound operations the scenarios send (RFC 7047 §5.2 operation objects). Logical_Switch is a root
// table; Logical_Switch_Port is not, so ports are always inserted together with a switch that references them
// (otherwise the commit would garbage-collect them).
import type { JsonValue } from '../../schema/json.ts';

export const NB_DB = 'OVN_Northbound';

/** One Logical_Switch row; `stamp` (ms, absolute clock) lets monitor subscribers measure delivery latency. */
export function insertSwitch(name: string, stamp?: number): JsonValue {
  const row: { [k: string]: JsonValue } = { name };
  if (stamp !== undefined) row['external_ids'] = ['map', [['t', stamp.toFixed(3)]]];
  return { op: 'insert', table: 'Logical_Switch', row };
}

function mac(i: number): string {
  const h = (x: number) => (x & 0xff).toString(16).padStart(2, '0');
  return `0a:00:${h(i >>> 24)}:${h(i >>> 16)}:${h(i >>> 8)}:${h(i)}`;
}

function ipv4(i: number): string {
  return `10.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`;
}

/**
 * A switch named `sw` with `count` ports, port numbers starting at `first` (port names are unique across the
 * database: Logical_Switch_Port has an index on name). The transaction holds count+1 row inserts.
 */
export function switchWithPorts(sw: string, first: number, count: number): JsonValue[] {
  const ops: JsonValue[] = [];
  const refs: JsonValue[] = [];
  for (let k = 0; k < count; k++) {
    const i = first + k;
    const ref = `p${k}`;
    refs.push(['named-uuid', ref]);
    ops.push({
      op: 'insert',
      table: 'Logical_Switch_Port',
      'uuid-name': ref,
      row: {
        name: `lsp-${i}`,
        addresses: `${mac(i)} ${ipv4(i)}`,
        external_ids: ['map', [['owner', 'bench']]],
      },
    });
  }
  ops.push({ op: 'insert', table: 'Logical_Switch', row: { name: sw, ports: ['set', refs] } });
  return ops;
}
