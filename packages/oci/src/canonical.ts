import stringify from 'fast-json-stable-stringify';

/**
 * canonicalJson serializes `value` as JSON with object keys sorted and no whitespace, as UTF-8
 * bytes: the same value always gives the same bytes, hence the same digest (what Stratum writes
 * for manifests, indexes and configs it creates). `undefined` members are dropped and
 * non-finite numbers become `null`, as `JSON.stringify` does. Throws `TypeError` for a value with
 * no JSON form (`undefined`, a function) or a cycle. Pure.
 */
export function canonicalJson(value: unknown): Uint8Array {
  const text = canonicalJsonString(value);
  return Buffer.from(text, 'utf8');
}

/** canonicalJsonString is {@link canonicalJson} as a string. */
export function canonicalJsonString(value: unknown): string {
  const text = stringify(value) as string | undefined;
  if (typeof text !== 'string') throw new TypeError(`canonicalJson: ${typeof value} has no JSON form`);
  return text;
}
