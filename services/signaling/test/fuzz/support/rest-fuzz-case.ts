import fc from 'fast-check';
import { nest } from './hostile-values.ts';
import { fileNameParam, formFields, formTransportNames, formTransports, hostileFileNames } from './multipart-hostility.ts';
import { everyStringPoisoned, mutate, mutation, type Mutation } from './mutations.ts';
import {
  EXHAUSTIVE_SEGMENTS,
  hostileQueries,
  hostileSegments,
  transportNames,
  transports,
  type AuthVariant,
  type Encoded,
} from './request-hostility.ts';
import type { RouteCase, RouteSample } from './route-cases.ts';
import { toWireJson } from './wire-json.ts';

/** One generated request to a route: what is changed from its valid sample, and how it is sent. */
export interface RestFuzzCase {
  /** A change to the sample's JSON body, or to a multipart route's fields. */
  body: Mutation;
  /** A hostile path segment (an index into `hostileSegments`) for one parameter. */
  param: { at: number; segment: number } | null;
  /** A query string: an index into `hostileQueries` followed by the route's own. */
  query: number | null;
  auth: AuthVariant;
  /** How the body is sent: a name in `transports`, or in `formTransports` for a multipart route. */
  transport: string;
  /** A multipart route's file name: an index into `hostileFileNames`. */
  fileName: number | null;
  /** One of the route's situations (an index), in place of its sample. */
  situation: number | null;
}

/** The query strings tried on a route: the generic hostile ones, then its own. */
export const queriesOf = (spec: RouteCase) => [...hostileQueries, ...(spec.queries ?? [])];

/** A random case for a JSON route, or for a multipart one (whose transports are form transports). */
export function restCase(multipart: boolean): fc.Arbitrary<RestFuzzCase> {
  return fc.record({
    body: mutation,
    param: fc.option(fc.record({ at: fc.nat(), segment: fc.nat({ max: hostileSegments.length - 1 }) }), { freq: 3 }),
    query: fc.option(fc.nat({ max: 1000 }), { freq: 3 }),
    auth: fc.oneof(
      { arbitrary: fc.constant<AuthVariant>('valid'), weight: 8 },
      fc.constantFrom<AuthVariant>('none', 'unknown token', 'Basic scheme', 'huge token', 'two tokens'),
    ),
    transport: multipart
      ? fc.oneof({ arbitrary: fc.constant('multipart'), weight: 6 }, fc.constantFrom(...formTransportNames))
      : fc.oneof({ arbitrary: fc.constant('json'), weight: 10 }, fc.constantFrom(...transportNames)),
    fileName: fc.option(fc.nat({ max: hostileFileNames.length - 1 }), { freq: 3 }),
    situation: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, fc.nat({ max: 1000 })),
  });
}

/** The valid sample, sent honestly (JSON, or an honest multipart form), with `overrides`. */
const plain = (multipart: boolean, overrides: Partial<RestFuzzCase> = {}): RestFuzzCase => ({
  body: { kind: 'valid' },
  param: null,
  query: null,
  auth: 'valid',
  transport: multipart ? 'multipart' : 'json',
  fileName: null,
  situation: null,
  ...overrides,
});

/**
 * Cases every route gets: each hostile segment on each parameter, each
 * transport, each string poisoned, deep bodies; a multipart route each form
 * transport and hostile file name; and the route's own queries, bodies and situations.
 */
export function examplesFor(route: string, spec: RouteCase, sample: RouteSample): RestFuzzCase[] {
  const multipart = sample.upload !== undefined;
  const example = (overrides: Partial<RestFuzzCase>) => plain(multipart, overrides);
  const params = route.match(/:\w+/g) ?? [];
  const segments = params.flatMap((_, at) => Array.from({ length: EXHAUSTIVE_SEGMENTS }, (_, segment) => example({ param: { at, segment } })));
  let bodies: RestFuzzCase[];
  if (sample.upload) {
    bodies = [
      ...formTransportNames.map((transport) => example({ transport })),
      ...hostileFileNames.map((_, fileName) => example({ fileName })),
      ...everyStringPoisoned(sample.upload.fields).map((body) => example({ body })),
    ];
  } else if (sample.body !== undefined) {
    bodies = [
      ...transportNames.map((transport) => example({ transport })),
      ...everyStringPoisoned(sample.body).map((body) => example({ body })),
      ...([['array', 4000], ['array', 10_000], ['object', 10_000]] as const).map(([shape, depth]) =>
        example({ body: { kind: 'add', at: -1, key: { value: 'nested', label: '"nested"' }, value: { value: nest(depth, shape), label: `${shape} nested ${depth} deep` } } }),
      ),
    ];
  } else {
    bodies = ['Content-Encoding: gzip on a plain body', 'aborted half-way'].map((transport) => example({ transport }));
  }
  const own = [
    ...(spec.queries ?? []).map((_, index) => example({ query: hostileQueries.length + index })),
    ...(spec.bodies ?? []).map((value) => example({ body: { kind: 'replace', value } })),
    ...Object.keys(spec.situations ?? {}).map((_, situation) => example({ situation })),
  ];
  return [...segments, ...bodies, ...own, example({ auth: 'none' }), example({ query: 0 })];
}

/** The request body as sent: JSON through a transport, or a multipart form through a form transport. */
export function encodeBody(sample: RouteSample, fuzz: RestFuzzCase): { encoded: Encoded; json?: string; label: string } {
  if (sample.upload) {
    const mutated = fuzz.body.kind === 'valid' ? { payload: sample.upload.fields, label: 'its valid fields' } : mutate(sample.upload.fields, fuzz.body);
    const hostileName = fuzz.fileName === null ? undefined : hostileFileNames[fuzz.fileName]!;
    const encoded = formTransports[fuzz.transport]!({
      fields: formFields(mutated.payload),
      fileNameParam: hostileName?.param ?? fileNameParam(sample.upload.file.name),
      content: sample.upload.file.content,
    });
    return { encoded, label: hostileName ? `fields: ${mutated.label}, file name: ${hostileName.label}` : `fields: ${mutated.label}` };
  }
  const mutated = fuzz.body.kind === 'valid' ? { payload: sample.body, label: 'its valid body' } : mutate(sample.body ?? {}, fuzz.body);
  const json = mutated.payload === undefined ? undefined : toWireJson(mutated.payload).text;
  return { encoded: transports[fuzz.transport]!(json), json, label: mutated.label };
}
