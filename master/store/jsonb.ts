/**
 * A value as PostgreSQL's jsonb gives it back, so that the in-memory store hands out what the table
 * would: plain JSON (undefined properties vanish, Dates become strings, NaN becomes null, undefined
 * becomes null), each object's keys in jsonb's order (shorter keys first, keys of one length by their
 * UTF-8 bytes; JavaScript still lists integer-like keys first, as it does for rows read through pg).
 * Always a fresh copy.
 */
export function asJsonb(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? null : withJsonbKeyOrder(JSON.parse(text));
}

function withJsonbKeyOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withJsonbKeyOrder);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  entries.sort(([a], [b]) => jsonbKeyOrder(a, b));
  return Object.fromEntries(entries.map(([key, inner]) => [key, withJsonbKeyOrder(inner)]));
}

function jsonbKeyOrder(a: string, b: string): number {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length - right.length || Buffer.compare(left, right);
}
