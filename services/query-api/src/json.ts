/**
 * Exact 64-bit integers in a JSON body. JSON.parse turns every number into a
 * double, so an integer beyond 2^53 (upstream's uint64 `idHash`: an md5 prefix,
 * almost always that large) comes out rounded. For a body already parsed into
 * an object, each top-level value that came out as such a rounded integer is
 * read again from the text: a plain integer literal becomes an exact bigint;
 * anything else (`1e30`, `1.5e20`) stays the number it was, for the schema to
 * refuse. Nested values are left alone: no request needs them exact.
 */

const UNSAFE = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v);
const INTEGER_LITERAL = /^-?(0|[1-9][0-9]*)$/;

export function withExactTopLevelIntegers(text: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  let literals: Map<string, string> | undefined;
  for (const key of Object.keys(record)) {
    if (!UNSAFE(record[key])) continue;
    literals ??= topLevelNumberLiterals(text);
    const literal = literals.get(key);
    if (literal !== undefined && INTEGER_LITERAL.test(literal)) record[key] = BigInt(literal);
  }
  return value;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && WHITESPACE.has(text[i]!)) i++;
  return i;
}

/** Index just past the string literal starting at `i` (a `"`). */
function endOfString(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Index just past the JSON value starting at `i`. Iterative: nesting depth costs no stack. */
function endOfValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    while (j < text.length) {
      const ch = text[j]!;
      if (ch === '"') {
        j = endOfString(text, j);
        continue;
      }
      if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') depth--;
      j++;
      if (depth === 0) return j;
    }
    return j;
  }
  let j = i;
  while (j < text.length && !WHITESPACE.has(text[j]!) && text[j] !== ',' && text[j] !== '}' && text[j] !== ']') j++;
  return j;
}

/**
 * The raw text of each top-level number value of a JSON object, by key (the
 * last one wins for a repeated key, as in JSON.parse). `text` must be valid
 * JSON whose root is an object, i.e. it has already parsed.
 */
export function topLevelNumberLiterals(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = skipWhitespace(text, text.charCodeAt(0) === 0xfeff ? 1 : 0);
  if (text[i] !== '{') return out;
  i = skipWhitespace(text, i + 1);
  while (i < text.length && text[i] !== '}') {
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd) + 1; // past ':'
    i = skipWhitespace(text, i);
    const valueEnd = endOfValue(text, i);
    const c = text[i]!;
    if (c === '-' || (c >= '0' && c <= '9')) out.set(key, text.slice(i, valueEnd));
    else out.delete(key);
    i = skipWhitespace(text, valueEnd);
    if (text[i] === ',') i = skipWhitespace(text, i + 1);
  }
  return out;
}
