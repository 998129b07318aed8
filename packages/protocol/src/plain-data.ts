import { isCleanText } from './text.ts';

/** Where a value stops being plain data, and why. */
export interface PlainDataProblem {
  /** Keys and indices from the value's root to the offending part. */
  path: string[];
  message: string;
}

/**
 * Checks that `value` is plain JSON-like data Parley will accept anywhere,
 * whatever the payload's schema: `null`, booleans, numbers, clean strings
 * (see `isCleanText`), arrays and plain objects, nested at most `maxDepth`
 * levels, with clean keys and no `__proto__` key. Binary data (Socket.IO
 * attachments) is refused. Walks without recursion, so no depth of nesting
 * can overflow the stack. Returns the first problem, or undefined.
 */
export function plainDataProblem(value: unknown, maxDepth: number): PlainDataProblem | undefined {
  const stack: Array<{ value: unknown; depth: number; path: readonly string[] }> = [{ value, depth: 0, path: [] }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const problem = (message: string) => ({ path: [...next.path], message });
    const current = next.value;
    if (current === null || current === undefined || typeof current === 'boolean' || typeof current === 'number') continue;
    if (typeof current === 'string') {
      if (!isCleanText(current)) return problem('must be well-formed Unicode without NUL characters');
      continue;
    }
    if (typeof current !== 'object') return problem(`must be plain data, not ${typeof current}`);
    if (next.depth >= maxDepth) return problem(`must not be nested more than ${maxDepth} levels deep`);
    if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push({ value: item, depth: next.depth + 1, path: [...next.path, String(index)] }));
      continue;
    }
    const prototype = Object.getPrototypeOf(current) as unknown;
    if (prototype !== Object.prototype && prototype !== null) return problem('must be plain data, not binary or another object');
    for (const [key, item] of Object.entries(current)) {
      if (key === '__proto__' || !isCleanText(key)) return problem('has a forbidden key');
      stack.push({ value: item, depth: next.depth + 1, path: [...next.path, key] });
    }
  }
  return undefined;
}
