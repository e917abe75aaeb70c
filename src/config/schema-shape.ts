/**
 * Reads the shape of the valibot schemas (their object `entries`, array `item`s,
 * union `options`) so that text configs can be walked alongside the schema: which
 * keys are known where, which subtrees are free-form (a JWK, a claim value), and
 * which type a `${VAR}` value should take. Deriving this from the schemas themselves
 * keeps it in step as fields are added.
 */
import * as v from 'valibot'

/** The structural part of a valibot schema object that is read here. */
interface SchemaNode {
  readonly type: string
  readonly entries?: Readonly<Record<string, SchemaNode>>
  readonly wrapped?: SchemaNode
  readonly options?: readonly SchemaNode[]
  readonly item?: SchemaNode
  readonly key?: unknown
  readonly value?: SchemaNode
  readonly items?: readonly SchemaNode[]
  readonly getter?: (input: unknown) => SchemaNode
}

export type AnySchema = v.GenericSchema | SchemaNode

/**
 * Converts every key below it, warns about none: for blocks known only by name (the
 * standalone server's, when `parseConfig` is called without their schemas).
 */
export const GENERIC_BLOCK: SchemaNode = { type: 'yatagarasu_generic' }

const WRAPPERS = new Set([
  'optional',
  'exact_optional',
  'nullable',
  'nullish',
  'undefinedable',
  'non_optional',
  'non_nullable',
  'non_nullish',
])
const OBJECTS = new Set(['object', 'loose_object', 'strict_object', 'object_with_rest'])
const FREE = new Set(['unknown', 'any', GENERIC_BLOCK.type])

/** The concrete schemas `schema` may mean for `value`: wrappers removed, unions expanded, variants narrowed. */
export function candidates(schema: AnySchema, value: unknown, depth = 0): SchemaNode[] {
  const node = schema as SchemaNode
  if (depth > 32) return []
  if (WRAPPERS.has(node.type) && node.wrapped) return candidates(node.wrapped, value, depth + 1)
  if (node.type === 'lazy' && node.getter) return candidates(node.getter(value), value, depth + 1)
  if (node.type === 'union' || node.type === 'intersect') {
    return (node.options ?? []).flatMap((option) => candidates(option, value, depth + 1))
  }
  if (node.type === 'variant' && typeof node.key === 'string') {
    const options = node.options ?? []
    const key = node.key
    const field = isRecord(value) ? value[key] : undefined
    const matching = options.filter((option) => {
      const discriminator = (option as SchemaNode).entries?.[key]
      return discriminator !== undefined && v.is(discriminator as v.GenericSchema, field)
    })
    return (matching.length > 0 ? matching : options).flatMap((option) => candidates(option, value, depth + 1))
  }
  return [node]
}

/** How an object value relates to the schemas it may be validated by. */
export interface ObjectShape {
  /** Keys of this object are converted to camelCase. */
  readonly convertKeys: boolean
  /** Whether a (camelCase) key is declared by one of the schemas. */
  known(key: string): boolean
  /** Unknown keys are worth a warning (no loose object, record or free-form schema accepts them). */
  readonly strict: boolean
  /** The schemas for the value under `key`. */
  child(key: string): AnySchema[]
}

export function objectShape(schemas: readonly SchemaNode[]): ObjectShape {
  if (schemas.length === 0) {
    // Not an object where one is expected: validation reports it. Convert as usual.
    return { convertKeys: true, known: () => true, strict: false, child: () => [] }
  }
  if (schemas.some((s) => s.type === GENERIC_BLOCK.type)) {
    return { convertKeys: true, known: () => true, strict: false, child: () => [GENERIC_BLOCK] }
  }
  const free = schemas.some((s) => FREE.has(s.type))
  const objects = schemas.filter((s) => OBJECTS.has(s.type))
  const records = schemas.filter((s) => s.type === 'record')
  if (objects.length === 0) {
    // Free-form data (a JWK, a claim value) or a record (keys chosen by the user): kept as written.
    const values: AnySchema[] = [...(free ? [FREE_NODE] : []), ...records.flatMap((r) => (r.value ? [r.value] : []))]
    return { convertKeys: false, known: () => true, strict: false, child: () => values }
  }
  // Object schemas, maybe next to a free-form alternative (a variant whose branch is not
  // known yet): their keys are converted, and only a closed set of them is worth a warning.
  const declares = (s: SchemaNode, key: string) => s.entries !== undefined && Object.hasOwn(s.entries, key)
  return {
    convertKeys: true,
    strict: !free && records.length === 0 && objects.every((s) => s.type === 'object' || s.type === 'strict_object'),
    known: (key) => free || records.length > 0 || objects.some((s) => declares(s, key)),
    child: (key) => [
      ...objects.flatMap((s) => (declares(s, key) ? [s.entries![key]!] : [])),
      ...records.flatMap((r) => (r.value ? [r.value] : [])),
      ...(free ? [FREE_NODE] : []),
    ],
  }
}

const FREE_NODE: SchemaNode = { type: 'unknown' }

/** The schemas for the items of an array value. */
export function itemSchemas(schemas: readonly SchemaNode[]): AnySchema[] {
  if (schemas.some((s) => FREE.has(s.type))) return [schemas.find((s) => FREE.has(s.type))!]
  return schemas.flatMap((s) => {
    if (s.type === 'array' && s.item) return [s.item]
    if (s.type === 'tuple' || s.type === 'loose_tuple' || s.type === 'strict_tuple') return [...(s.items ?? [])]
    return []
  })
}

/** Whether the position takes anything (no schema, `unknown`, a generic block). */
export function isFreeForm(schemas: readonly SchemaNode[]): boolean {
  return schemas.length === 0 || schemas.some((s) => FREE.has(s.type))
}

/** Whether one of the schemas takes a value of this JavaScript type. */
export function acceptsKind(schemas: readonly SchemaNode[], kind: 'string' | 'number' | 'boolean'): boolean {
  return schemas.some((s) => {
    if (s.type === kind) return true
    if (s.type === 'literal') return typeof (s as { literal?: unknown }).literal === kind
    if (kind === 'string') return s.type === 'picklist' || s.type === 'enum'
    if (kind === 'number') return s.type === 'bigint'
    return false
  })
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function asNodes(schemas: readonly AnySchema[], value: unknown): SchemaNode[] {
  return schemas.flatMap((schema) => candidates(schema, value))
}
