import fc from 'fast-check';
import { hostileKey, hostileValue, nest, stringPoisons, type Labelled } from './hostile-values.ts';

type Path = Array<string | number>;

/** Every place in a (small, valid) sample: the root, each property and each array item, depth first. */
export function pathsOf(sample: unknown): Path[] {
  const found: Path[] = [];
  const visit = (value: unknown, path: Path) => {
    found.push(path);
    if (Array.isArray(value)) value.forEach((item, index) => visit(item, [...path, index]));
    else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
    }
  };
  visit(sample, []);
  return found;
}

const valueAt = (root: unknown, path: Path): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root);

const describe = (path: Path) => (path.length === 0 ? 'payload' : `payload.${path.join('.')}`);

/** One change to a valid sample. Indices pick among the sample's places modulo their number, so a case replays exactly. */
export type Mutation =
  | { kind: 'valid' }
  | { kind: 'set'; at: number; value: Labelled }
  | { kind: 'delete'; at: number }
  | { kind: 'add'; at: number; key: Labelled<string>; value: Labelled }
  | { kind: 'poison'; at: number; poison: number }
  | { kind: 'replace'; value: Labelled }
  | { kind: 'wrap'; how: 'array' | 'object' | 'deep' };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'valid' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: hostileValue }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: hostileKey, value: hostileValue }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('poison' as const), at: fc.nat(), poison: fc.nat({ max: stringPoisons.length - 1 }) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('replace' as const), value: hostileValue }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('wrap' as const), how: fc.constantFrom('array', 'object', 'deep' as const) }), weight: 1 },
);

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = valueAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  Object.defineProperty(parent, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

/** Applies `change` to a copy of `sample`: the payload to send and what was done, for the report. */
export function mutate(sample: unknown, change: Mutation): { payload: unknown; label: string } {
  const root = sample === undefined ? undefined : structuredClone(sample);
  const paths = pathsOf(root);
  const inner = paths.length > 1 ? paths.slice(1) : paths;
  // A negative index counts from the end (examples use -1: the deepest object).
  const pick = (list: Path[], at: number) => list[((at % list.length) + list.length) % list.length]!;
  switch (change.kind) {
    case 'valid':
      return { payload: root, label: 'the valid sample' };
    case 'set': {
      const path = pick(inner, change.at);
      return { payload: setAt(root, path, change.value.value), label: `${describe(path)} ← ${change.value.label}` };
    }
    case 'delete': {
      const path = pick(inner, change.at);
      if (path.length === 0) return { payload: undefined, label: 'payload omitted' };
      const parent = valueAt(root, path.slice(0, -1));
      if (Array.isArray(parent)) parent.splice(Number(path.at(-1)), 1);
      else delete (parent as Record<string, unknown>)[String(path.at(-1))];
      return { payload: root, label: `${describe(path)} removed` };
    }
    case 'add': {
      const objects = paths.filter((path) => {
        const node = valueAt(root, path);
        return node !== null && typeof node === 'object' && !Array.isArray(node);
      });
      if (objects.length === 0) return { payload: root, label: 'the valid sample (no object to add a key to)' };
      const path = pick(objects, change.at);
      setAt(root, [...path, change.key.value], change.value.value);
      return { payload: root, label: `${describe(path)}[${change.key.label}] added ← ${change.value.label}` };
    }
    case 'poison': {
      const strings = paths.filter((path) => typeof valueAt(root, path) === 'string');
      const poison = stringPoisons[change.poison]!;
      if (strings.length === 0) return { payload: poison.apply('x'), label: `payload ← "x" with ${poison.label}` };
      const path = pick(strings, change.at);
      return { payload: setAt(root, path, poison.apply(valueAt(root, path) as string)), label: `${describe(path)} with ${poison.label}` };
    }
    case 'replace':
      return { payload: change.value.value, label: `payload ← ${change.value.label}` };
    case 'wrap':
      if (change.how === 'array') return { payload: [root], label: 'payload wrapped in an array' };
      if (change.how === 'object') return { payload: { payload: root }, label: 'payload wrapped in { payload }' };
      return { payload: nest(1500, 'array', root), label: 'payload wrapped 1,500 arrays deep' };
  }
}

/** Nesting depths every object payload is tried with, around where decoders and encoders run out of stack. */
const DEEP_LADDER: Array<['array' | 'object', number]> = [
  ['array', 1000], ['array', 2500], ['array', 3500], ['array', 3800], ['array', 4000], ['array', 4200], ['array', 4500], ['array', 6000], ['array', 10_000],
  ['object', 1000], ['object', 4000], ['object', 4500], ['object', 10_000],
];

/** A key holding each depth of the ladder, added to the sample's deepest object (the part a relay forwards). */
export function deepLadder(): Mutation[] {
  return DEEP_LADDER.map(([shape, depth]) => ({
    kind: 'add',
    at: -1,
    key: { value: 'nested', label: '"nested"' },
    value: { value: nest(depth, shape), label: `${shape} nested ${depth} deep` },
  }));
}

/** The poisons every string of every sample is tried with (indices into `stringPoisons`): NUL inside, lone high and low surrogates. */
const CORE_POISONS = [1, 3, 4];

/** Every string place of a sample with each core poison: the exhaustive part of a property, run before the random cases. */
export function everyStringPoisoned(sample: unknown): Mutation[] {
  const strings = pathsOf(sample).filter((path) => typeof valueAt(sample, path) === 'string').length;
  return Array.from({ length: strings }, (_, at) => CORE_POISONS.map((poison) => ({ kind: 'poison' as const, at, poison }))).flat();
}
