// JSON values as OVSDB sees them. Integers beyond Number.MAX_SAFE_INTEGER (up to int64) are carried as
// bigint so that 64-bit OVSDB integers survive a round trip; everything else is plain JSON.
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
