/**
 * Challenge is one parsed `WWW-Authenticate` challenge: its scheme (lowercase) and parameters
 * (`realm`, `service`, `scope`, `error`… with lowercase keys; a bare token68 as `token68`).
 */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const tchar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * parseChallenges parses a `WWW-Authenticate` header value (RFC 7235: one or more challenges,
 * each `scheme token68` or `scheme param=value, param="quoted, value"`) into challenges in order.
 * Pure and total: malformed parts are skipped, never thrown on.
 *
 * @example parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"')
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const out: Challenge[] = [];
  for (const value of Array.isArray(header) ? header : [header]) parseOne(String(value), out);
  return out;
}

function parseOne(s: string, out: Challenge[]): void {
  const n = s.length;
  let i = 0;
  const skipWs = (): void => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && tchar.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  /** After a token at i: is it `name=value` (a param) rather than a token68 or a new scheme? */
  const isParamAhead = (): boolean => {
    let j = i;
    while (j < n && (s[j] === ' ' || s[j] === '\t')) j++;
    return s[j] === '=' && s[j + 1] !== '=' && !atEnd(j + 1);
  };
  const atEnd = (j: number): boolean => {
    while (j < n && (s[j] === ' ' || s[j] === '\t')) j++;
    return j >= n || s[j] === ',';
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (i >= n) break;
    if (s[i] === ',') {
      i++;
      continue;
    }
    const name = token();
    if (name === '') {
      i++; // an unexpected character: skip it
      continue;
    }
    if (current !== undefined && isParamAhead()) {
      skipWs();
      i++; // '='
      skipWs();
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < n && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < n) i++;
          value += s[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = token();
      }
      current.params[name.toLowerCase()] = value;
      continue;
    }
    // A new challenge: `scheme`, then params or one token68.
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
    skipWs();
    const save = i;
    const t = token();
    if (t === '') continue;
    if (isParamAhead()) {
      i = save; // the params are read by the loop
      continue;
    }
    // token68: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding.
    i = save;
    while (i < n && /[A-Za-z0-9\-._~+/]/.test(s[i]!)) i++;
    while (i < n && s[i] === '=') i++;
    current.params['token68'] = s.slice(save, i);
  }
}
