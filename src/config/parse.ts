/**
 * `parseConfig`: a YAML (or JSON) config text to the camelCase config object.
 *
 * `yaml` reads the text (YAML 1.2, merge keys on); `${VAR}`s are filled in one pass
 * over the parsed document; keys become camelCase; the schema validates. Where a
 * scalar can be read two ways (an unquoted `2024`: a number, or the text "2024"; a
 * substituted `"${PORT}"`: text, or a number) and the schema refuses the first
 * reading, the other is tried: the schema decides what a field is, never a list kept
 * here. Issues are then located in the document: the path as written and its line.
 */
import * as v from 'valibot'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import { ConfigError, type ConfigIssue } from '../errors.js'
import { substituteEnv, type Env } from './env-substitution.js'
import { formatPath, issueKeys, issueMessage } from './issues.js'
import { configSchema, type YatagarasuConfig } from './schema.js'
import { maskSecretsInJson } from './secrets.js'

export interface ParseConfigOptions {
  /**
   * Receives each warning: an unknown key (with its path and line), which is then
   * ignored. Default: one line each on `console.warn`.
   */
  onWarning?: (warning: ConfigIssue) => void
  /**
   * Schemas for top-level blocks beyond the handler's (`server`, `logging`, `metrics`,
   * ... of the standalone server), validated with the rest so that every problem is
   * reported at once. Without one, the standalone server's blocks are accepted
   * unvalidated (keys converted) and other unknown blocks are warned about.
   */
  blocks?: Readonly<Record<string, v.GenericSchema>>
  /**
   * Further checks on the config once it is valid, reported with the others. Issue
   * paths are camelCase (`server.port`); the line and the spelling of the text are added.
   */
  check?: (config: ParsedConfig) => ConfigIssue[]
}

/** The parsed config: the handler's fields, plus any other top-level block the text had (`server`, `logging`, ...). */
export type ParsedConfig = YatagarasuConfig & { readonly [block: string]: unknown }

/** Top-level blocks of the standalone server's config file; accepted by `parseConfig` without their schema. */
export const SERVER_BLOCKS = ['server', 'logging', 'metrics', 'health', 'shutdown', 'auditLog', 'cache', 'admin'] as const

/** Fields whose values `JSON.stringify` prints as `***` in the returned config. */
const SECRET_KEYS = new Set(['accessKey', 'secretKey', 'sessionToken', 'secret', 'password', 'token', 'apiKey', 'privateKey', 'clientSecret', 'signingKey', 'redisUrl', 'redisPassword'])

const MAX_DEPTH = 64
const MAX_SYNTAX_ERRORS = 3

type Key = string | number

/**
 * Parses a config file's text — YAML, or JSON (which is YAML too) — into the config
 * `createYatagarasu` takes:
 *
 * - snake_case keys become camelCase (`path_prefix` → `pathPrefix`); camelCase is accepted too;
 * - `${VAR}` is replaced from `env` (`${VAR:-default}` when unset or empty, `$${` for a
 *   literal `${`); an unset variable without a default is an error naming it. The value
 *   takes the type its field expects (`port: ${PORT}` is a number, `secret: ${S}` a
 *   string even when all digits);
 * - unknown keys are reported to `onWarning` with their path and line, and ignored;
 *   top-level keys starting with `x-` are ignored silently (a place for YAML anchors);
 * - the result is validated like `createYatagarasu` does; a {@link ConfigError} lists
 *   every problem with its path (as written in the text) and line.
 *
 * Runtime-neutral: `env` is never read from the process; pass it (`process.env`,
 * `Deno.env.toObject()`, `Bun.env`). Secrets print as `***` in `JSON.stringify` of
 * the result; error messages never contain values.
 *
 * @example
 * const config = parseConfig(await Bun.file('config.yaml').text(), Bun.env)
 * Bun.serve({ fetch: createYatagarasu(config) })
 */
export function parseConfig(text: string, env: Env = {}, options: ParseConfigOptions = {}): ParsedConfig {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true })
  const lineOf = (node: { range?: readonly number[] | null | undefined } | null | undefined) =>
    node?.range ? lineCounter.linePos(node.range[0]!).line : undefined
  if (doc.errors.length > 0) throw syntaxError(doc.errors.map((error) => ({ line: lineCounter.linePos(error.pos[0]).line, message: error.message })))
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new ConfigError([{ path: '', message: 'the config is empty' }])
  }

  const { otherReading, failed, problems } = substituteEnv(doc, env)
  let data: unknown
  try {
    data = doc.toJS()
  } catch (error) {
    // An alias bomb, or a merge of something that is not a mapping.
    throw syntaxError([{ line: undefined, message: error instanceof Error ? error.message : 'unreadable' }])
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError([withLine({ path: '', message: 'expected a mapping of fields (buckets, ...)' }, lineOf(doc.contents))])
  }

  const issues: ConfigIssue[] = problems.map(({ path, node, message }) => withLine({ path, message }, lineOf(node)))
  const keys = camelizeKeys(data)
  const snakeCase = keys.snakeCase
  const place = (path: readonly Key[]) => locate(doc, path, lineOf, snakeCase)
  for (const { path, message } of keys.issues) issues.push(place(path).issue(message))

  const root = v.object({ ...Object.fromEntries(SERVER_BLOCKS.map((name) => [name, ANY_BLOCK])), ...configSchema.entries, ...options.blocks })
  const input = keys.value as Record<string, unknown>
  const swapped = new Set<string>()
  let result = v.safeParse(root, input, { abortEarly: false, message: issueMessage })
  for (;;) {
    const swaps = (result.issues ?? []).flatMap((issue) => {
      const path = issueKeys(issue)
      const node = place(path).node
      if (issue.kind !== 'schema' || !isScalar(node) || !otherReading.has(node) || swapped.has(formatPath(path))) return []
      swapped.add(formatPath(path))
      return [{ path, value: otherReading.get(node) }]
    })
    if (swaps.length === 0) break
    for (const { path, value } of swaps) setIn(input, path, value)
    result = v.safeParse(root, input, { abortEarly: false, message: issueMessage })
  }

  const onWarning = options.onWarning ?? warnOnConsole
  for (const path of unknownKeys(input, result.output)) onWarning(place(path).issue('unknown key; ignored'))
  const respell = (message: string) => (snakeCase ? message.replace(/\b[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+\b/g, toSnakeCase) : message)
  for (const issue of result.issues ?? []) {
    const where = place(issueKeys(issue))
    if (!(isScalar(where.node) && failed.has(where.node))) issues.push(where.issue(respell(issue.message)))
  }
  if (issues.length === 0 && options.check) {
    for (const issue of options.check(result.output as ParsedConfig)) issues.push(place(parsePath(issue.path)).issue(respell(issue.message)))
  }
  if (issues.length > 0) throw new ConfigError(byLine(issues))
  return maskSecrets(restoreVerbatim(result.output, keys.written)) as ParsedConfig
}

/** A standalone server block, when `parseConfig` is not given its schema: keys converted, values as written. */
const ANY_BLOCK = v.optional(v.record(v.string(), v.unknown()))

/**
 * A copy of the data with camelCase keys, null (YAML for "not given") values left out,
 * and each copied object mapped to the one it was copied from: values the schema takes
 * as they are (a JWK, a claim value) come back with their keys as written.
 */
function camelizeKeys(data: unknown) {
  const issues: Array<{ path: Key[]; message: string }> = []
  const written = new WeakMap<object, unknown>()
  let snake = 0
  let camel = 0
  const copy = (value: unknown, path: Key[]): unknown => {
    if (typeof value !== 'object' || value === null) return value
    if (path.length > MAX_DEPTH) {
      issues.push({ path, message: 'nested too deeply (a recursive alias?)' })
      return undefined
    }
    let out: unknown
    if (Array.isArray(value)) out = value.map((item, index) => copy(item, [...path, index]))
    else {
      const object: Record<string, unknown> = {}
      const spelling = new Map<string, string>()
      for (const [key, item] of Object.entries(value)) {
        if (item === null) continue
        const name = toCamelCase(key)
        if (name !== key) snake++
        else if (/[a-z][A-Z]/.test(key)) camel++
        const other = spelling.get(name)
        if (other !== undefined) issues.push({ path: [...path, key], message: `given twice (also as ${other})` })
        else {
          spelling.set(name, key)
          object[name] = copy(item, [...path, name])
        }
      }
      out = object
    }
    written.set(out as object, value)
    return out
  }
  const value = copy(data, [])
  return { value, issues, written, snakeCase: snake > 0 || camel === 0 }
}

/** Paths of the keys the schema dropped: unknown where they are. Top-level `x-` keys are for anchors. */
function unknownKeys(input: unknown, output: unknown, path: Key[] = []): Key[][] {
  // The same object in and out: a value the schema takes as it is, or one it refused.
  if (input === output || typeof input !== 'object' || input === null || typeof output !== 'object' || output === null) return []
  if (Array.isArray(input)) return Array.isArray(output) ? input.flatMap((item, index) => unknownKeys(item, output[index], [...path, index])) : []
  return Object.entries(input).flatMap(([key, value]) => {
    if (Object.hasOwn(output, key)) return unknownKeys(value, (output as Record<string, unknown>)[key], [...path, key])
    return path.length === 0 && key.startsWith('x-') ? [] : [[...path, key]]
  })
}

/** Puts back, as written, the values the schema passed through untouched. */
function restoreVerbatim(value: unknown, written: WeakMap<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (written.has(value)) return written.get(value)
  const object = value as Record<string, unknown>
  for (const key of Object.keys(object)) object[key] = restoreVerbatim(object[key], written)
  return value
}

function maskSecrets(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value
  const object = value as Record<string, unknown>
  for (const key of Object.keys(object)) maskSecrets(object[key], depth + 1)
  const secrets = Array.isArray(value) ? [] : Object.keys(object).filter((key) => SECRET_KEYS.has(key))
  return secrets.length > 0 ? maskSecretsInJson(object, secrets) : value
}

interface Place {
  /** The value's node, when the whole path is in the document. */
  readonly node?: Node | null
  issue(message: string): ConfigIssue
}

/**
 * Where a path (camelCase keys) is in the document: the keys as written (following
 * aliases and merge keys) and the line of the last one found; keys not in the text
 * (a missing field) are named after it in the file's spelling.
 */
function locate(doc: Document, path: readonly Key[], lineOf: (node: Node | null | undefined) => number | undefined, snakeCase: boolean): Place {
  const written: Key[] = []
  let line: number | undefined
  let node = doc.contents as Node | null | undefined
  for (const [index, key] of path.entries()) {
    const found = typeof key === 'number' ? itemAt(doc, node, key) : entryAt(doc, node, key)
    if (found === undefined) {
      const rest = path.slice(index).map((k) => (typeof k === 'number' || !snakeCase ? k : toSnakeCase(k)))
      return { issue: (message) => withLine({ path: formatPath([...written, ...rest]), message }, line) }
    }
    written.push(found.key)
    line = lineOf(found.at)
    node = found.value
  }
  return { node: resolved(doc, node), issue: (message) => withLine({ path: formatPath(written), message }, line) }
}

type Found = { key: Key; at: Node | null; value: Node | null } | undefined

function itemAt(doc: Document, node: Node | null | undefined, index: number): Found {
  const seq = resolved(doc, node)
  const item = isSeq(seq) ? (seq.items[index] as Node | undefined) : undefined
  return item === undefined ? undefined : { key: index, at: item, value: item }
}

function entryAt(doc: Document, node: Node | null | undefined, key: string): Found {
  const map = resolved(doc, node)
  if (!isMap(map)) return undefined
  const text = (pair: (typeof map.items)[number]) => (isScalar(pair.key) ? String(pair.key.value) : String(pair.key))
  const pair = map.items.find((p) => text(p) === key) ?? map.items.find((p) => toCamelCase(text(p)) === key)
  if (pair) return { key: text(pair), at: pair.key as Node, value: pair.value as Node | null }
  // Not here: maybe brought in by a merge key (`<<: *defaults`).
  for (const merge of map.items.filter((p) => isScalar(p.key) && typeof p.key.value === 'symbol')) {
    const sources = isSeq(merge.value) ? (merge.value.items as Node[]) : [merge.value as Node]
    for (const source of sources) {
      const found = entryAt(doc, source, key)
      if (found) return found
    }
  }
  return undefined
}

function resolved(doc: Document, node: Node | null | undefined): Node | null | undefined {
  return isAlias(node) ? (node.resolve(doc) as Node | undefined) : node
}

function setIn(target: Record<string, unknown>, path: readonly Key[], value: unknown): void {
  let parent: Record<Key, unknown> = target
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<Key, unknown>
  parent[path.at(-1)!] = value
}

/** `path_prefix` → `pathPrefix`; keys that are not snake_case are kept. */
export function toCamelCase(key: string): string {
  return /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/.test(key) ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key
}

/** `pathPrefix` → `path_prefix`. */
export function toSnakeCase(key: string): string {
  return /^[a-z][a-zA-Z0-9]*$/.test(key) ? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : key
}

/** `buckets[1].s3.region` → `['buckets', 1, 's3', 'region']`. */
function parsePath(path: string): Key[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((match) => (match[2] !== undefined ? Number(match[2]) : match[1]!))
}

/** One issue per line, the first few: after a syntax error the rest mostly cascades. */
function syntaxError(errors: Array<{ line: number | undefined; message: string }>): ConfigError {
  const lines = new Set<number | undefined>()
  const issues: ConfigIssue[] = []
  for (const { line, message } of errors) {
    if (lines.has(line) || issues.length === MAX_SYNTAX_ERRORS) continue
    lines.add(line)
    // The parser's message without the source text it may quote (which could be a secret).
    issues.push(withLine({ path: '', message: `YAML syntax: ${message.split('\n')[0]!.replace(/:\s*["'`].*$/, '').trim()}` }, line))
  }
  return new ConfigError(issues)
}

function withLine(issue: ConfigIssue, line: number | undefined): ConfigIssue {
  return line === undefined ? issue : { ...issue, line }
}

/** Each issue once, by line (the sort is stable: issues on one line keep their order). */
function byLine(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>()
  return issues
    .filter((issue) => {
      const id = `${issue.path}\0${issue.line}\0${issue.message}`
      return seen.has(id) ? false : (seen.add(id), true)
    })
    .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity))
}

function warnOnConsole(warning: ConfigIssue): void {
  const where = warning.line === undefined ? warning.path : `${warning.path} (line ${warning.line})`
  console.warn(`yatagarasu config: ${where}: ${warning.message}`)
}
