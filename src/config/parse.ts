/**
 * `parseConfig`: a YAML (or JSON) config text to the camelCase config object.
 *
 * The text is walked node by node alongside the valibot schemas, which gives, in one
 * pass: snake_case keys converted to camelCase (only where the schema declares object
 * keys; a JWK or a claim value is kept as written), `${VAR}` references filled in
 * with the type the field expects, unknown keys found (warnings, then dropped), and
 * the line of every field, so that each validation issue is reported with its line.
 */
import * as v from 'valibot'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml'
import { ConfigError, type ConfigIssue } from '../errors.js'
import { hasReference, resolvePlainScalar, substituteEnv, type Env } from './env-substitution.js'
import { configSchema, formatPath, issueMessage } from './schema.js'
import {
  acceptsKind,
  asNodes,
  GENERIC_BLOCK,
  isFreeForm,
  itemSchemas,
  objectShape,
  type AnySchema,
} from './schema-shape.js'
import { maskSecretsInJson } from './secrets.js'
import type { YatagarasuConfig } from './types.js'
import { validateConfig } from './validate.js'

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
export const SERVER_BLOCKS = ['server', 'logging', 'metrics', 'health', 'shutdown'] as const

/** Fields whose values `JSON.stringify` prints as `***` in the returned config. */
const SECRET_KEYS = new Set(['accessKey', 'secretKey', 'sessionToken', 'secret', 'password', 'token', 'apiKey', 'privateKey', 'clientSecret', 'signingKey'])

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
  const onWarning = options.onWarning ?? warnOnConsole
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: false, intAsBigInt: false })
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line)

  if (doc.errors.length > 0) {
    // One error per line, the first few: after a syntax error the rest mostly cascades.
    const lines = new Set<number | undefined>()
    const issues: ConfigIssue[] = []
    for (const error of doc.errors) {
      const line = lineAt(error.pos[0])
      if (lines.has(line) || issues.length === MAX_SYNTAX_ERRORS) continue
      lines.add(line)
      issues.push(withLine({ path: '', message: `YAML syntax: ${syntaxMessage(error.message)}` }, line))
    }
    throw new ConfigError(issues)
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new ConfigError([{ path: '', message: 'the config is empty' }])
  }

  const blocks = options.blocks ?? {}
  const rootEntries: Record<string, AnySchema> = { ...configSchema.entries }
  for (const name of SERVER_BLOCKS) rootEntries[name] = GENERIC_BLOCK
  Object.assign(rootEntries, blocks)
  const rootSchema: AnySchema = { type: 'object', entries: rootEntries }

  const reader = new TextReader(doc, env, lineAt)
  const data = reader.read(doc.contents as Node, [rootSchema])
  for (const warning of reader.warnings) onWarning(warning)

  const issues = [...reader.issues]
  if (!isPlainObject(data)) {
    if (issues.length === 0) issues.push(withLine({ path: '', message: 'expected a mapping of fields (buckets, ...)' }, reader.lineOf(doc.contents as Node)))
    throw new ConfigError(issues)
  }

  const located = (path: readonly PropertyKey[], message: string): ConfigIssue | undefined => {
    const formatted = formatPath(path)
    if (reader.isFlagged(formatted)) return undefined
    const { source, line } = reader.locate(path)
    return withLine({ path: source, message }, line)
  }

  try {
    validateConfig(data)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    for (const issue of error.issues) {
      const found = located(parsePath(issue.path), issue.message)
      if (found) issues.push(found)
    }
  }
  for (const [name, schema] of Object.entries(blocks)) {
    const result = v.safeParse(schema, data[name], { abortEarly: false, message: issueMessage })
    if (result.success) continue
    for (const issue of result.issues) {
      const found = located([name, ...(issue.path?.map((item) => item.key as PropertyKey) ?? [])], issue.message)
      if (found) issues.push(found)
    }
  }
  if (issues.length === 0 && options.check) {
    for (const issue of options.check(data as ParsedConfig)) {
      const found = located(parsePath(issue.path), issue.message)
      if (found) issues.push(found)
    }
  }
  if (issues.length > 0) throw new ConfigError(sortByLine(dedupe(issues)))
  return data as ParsedConfig
}

type PathKey = string | number

interface Position {
  readonly line: number | undefined
  /** The path as written in the text (snake_case keys stay snake_case). */
  readonly source: string
}

/** Walks the YAML nodes alongside the schemas; collects values, positions, issues and warnings. */
class TextReader {
  readonly issues: ConfigIssue[] = []
  readonly warnings: ConfigIssue[] = []
  private readonly positions = new Map<string, Position>()
  private readonly flagged = new Set<string>()

  constructor(
    private readonly doc: Document,
    private readonly env: Env,
    private readonly lineAt: (offset: number | undefined) => number | undefined,
  ) {
    this.positions.set('', { line: undefined, source: '' })
  }

  lineOf(node: Node | null | undefined): number | undefined {
    return this.lineAt(node?.range?.[0])
  }

  read(node: Node, schemas: AnySchema[]): unknown {
    return this.value(node, schemas, [], '', 0)
  }

  /** Whether an issue at `path` comes from a value that could not be substituted (already reported). */
  isFlagged(path: string): boolean {
    for (const flagged of this.flagged) {
      if (path === flagged || path.startsWith(`${flagged}.`) || path.startsWith(`${flagged}[`)) return true
    }
    return false
  }

  /** The closest position known for a path; missing keys are named in snake_case after it. */
  locate(path: readonly PropertyKey[]): Position {
    for (let length = path.length; length >= 0; length--) {
      const found = this.positions.get(formatPath(path.slice(0, length)))
      if (found === undefined) continue
      let source = found.source
      for (const key of path.slice(length)) {
        source = typeof key === 'number' ? `${source}[${key}]` : source ? `${source}.${toSnakeCase(String(key))}` : toSnakeCase(String(key))
      }
      return { line: found.line, source }
    }
    return { line: undefined, source: formatPath(path) }
  }

  private remember(path: PathKey[], position: Position): void {
    const key = formatPath(path)
    if (!this.positions.has(key)) this.positions.set(key, position)
  }

  private value(node: Node | null | undefined, schemas: AnySchema[], path: PathKey[], source: string, depth: number): unknown {
    if (node === null || node === undefined) return undefined
    if (depth > 64) {
      this.issue(source, node, 'nested too deeply (a recursive alias?)')
      return undefined
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc)
      if (target === undefined) {
        this.issue(source, node, `unknown alias *${node.source}`)
        this.flagged.add(formatPath(path))
        return undefined
      }
      return this.value(target as Node, schemas, path, source, depth + 1)
    }
    if (isScalar(node)) return this.scalar(node, schemas, path, source)
    if (isMap(node)) return this.map(node, schemas, path, source, depth)
    if (isSeq(node)) return this.seq(node, schemas, path, source, depth)
    return undefined
  }

  private scalar(node: Scalar, schemas: AnySchema[], path: PathKey[], source: string): unknown {
    const raw = node.value
    const quoted = node.type !== 'PLAIN'
    if (typeof raw === 'string' && hasReference(raw)) {
      const result = substituteEnv(raw, this.env)
      if (result.problems) {
        for (const problem of result.problems) this.issue(source, node, problem)
        this.flagged.add(formatPath(path))
        return undefined
      }
      return coerce(result.value, asNodes(schemas, result.value), quoted, true)
    }
    if (raw === null || raw === undefined) return undefined
    // An unquoted `2024` or `true` where only text is expected (a bucket name, a secret): the text as written.
    if (!quoted && (typeof raw === 'number' || typeof raw === 'boolean') && typeof node.source === 'string') {
      return coerce(node.source, asNodes(schemas, raw), false, false, raw)
    }
    return raw
  }

  private map(node: YAMLMap, schemas: AnySchema[], path: PathKey[], source: string, depth: number): Record<string, unknown> {
    const shape = objectShape(asNodes(schemas, peek(node, this.env)))
    const out: Record<string, unknown> = {}
    const seen = new Map<string, string>()
    const merges: Node[] = []
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        this.issue(source, keyNode ?? node, 'keys must be plain text')
        continue
      }
      const written = String(keyNode.value)
      if (written === '<<' && keyNode.type === 'PLAIN') {
        if (pair.value) merges.push(pair.value as Node)
        continue
      }
      if (depth === 0 && written.startsWith('x-')) continue
      const key = shape.convertKeys ? toCamelCase(written) : written
      const childSource = source ? `${source}.${written}` : written
      const line = this.lineOf(keyNode)
      const earlier = seen.get(key)
      if (earlier !== undefined) {
        this.issues.push(withLine({ path: childSource, message: `given twice (also as ${earlier})` }, line))
        continue
      }
      seen.set(key, written)
      if (!shape.known(key)) {
        if (shape.strict) this.warnings.push(withLine({ path: childSource, message: 'unknown key; ignored' }, line))
        continue
      }
      const childPath = [...path, key]
      this.remember(childPath, { line, source: childSource })
      const value = this.value(pair.value as Node | null, shape.child(key), childPath, childSource, depth + 1)
      if (value !== undefined) out[key] = value
    }
    // YAML merge keys (`<<: *defaults`): the map's own keys win, whatever their order.
    for (const merge of merges) {
      const sources = isSeq(merge) ? (merge.items as Node[]) : [merge]
      for (const item of sources) {
        const merged = this.value(item, schemas, path, source, depth + 1)
        if (!isPlainObject(merged)) {
          this.issue(source, item, 'a merge key (<<) takes a mapping or a list of mappings')
          continue
        }
        for (const [key, value] of Object.entries(merged)) {
          if (!Object.hasOwn(out, key) && !seen.has(key)) out[key] = value
        }
      }
    }
    const secrets = Object.keys(out).filter((key) => SECRET_KEYS.has(key))
    return secrets.length > 0 ? maskSecretsInJson(out, secrets) : out
  }

  private seq(node: YAMLSeq, schemas: AnySchema[], path: PathKey[], source: string, depth: number): unknown[] {
    const items = itemSchemas(asNodes(schemas, []))
    return node.items.map((item, index) => {
      const childPath = [...path, index]
      const childSource = `${source}[${index}]`
      this.remember(childPath, { line: this.lineOf(item as Node), source: childSource })
      return this.value(item as Node | null, items, childPath, childSource, depth + 1) ?? null
    })
  }

  private issue(source: string, node: Node | null | undefined, message: string): void {
    this.issues.push(withLine({ path: source, message }, this.lineOf(node)))
  }
}

/**
 * The value a text becomes at a position: a string where the schema takes text,
 * otherwise what the text means as a YAML plain scalar (a number, a boolean, null),
 * when the schema takes that.
 */
function coerce(
  text: string,
  schemas: ReturnType<typeof asNodes>,
  quoted: boolean,
  substituted: boolean,
  original?: unknown,
): unknown {
  if (isFreeForm(schemas)) {
    if (quoted) return text
    return original !== undefined ? original : nullToUndefined(resolvePlainScalar(text))
  }
  const typed = resolvePlainScalar(text)
  const kind = typed === null ? 'null' : typeof typed
  const takesTyped = kind === 'number' || kind === 'boolean' ? acceptsKind(schemas, kind) : false
  if (quoted) {
    // Only a substituted value in quotes (JSON has no other way to template a number) is retyped.
    if (acceptsKind(schemas, 'string') || !substituted) return text
    return takesTyped ? typed : text
  }
  if (kind === 'string') return text
  if (kind === 'null') return acceptsKind(schemas, 'string') && substituted && text !== '' ? text : undefined
  if (takesTyped) return original !== undefined ? original : typed
  if (acceptsKind(schemas, 'string')) return text
  return original !== undefined ? original : typed
}

function nullToUndefined<T>(value: T | null): T | undefined {
  return value === null ? undefined : value
}

/** Scalar fields of a map (`${VAR}`s filled, typed as YAML would), for choosing a variant by its discriminator. */
function peek(node: YAMLMap, env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const pair of node.items) {
    if (!isScalar(pair.key) || !isScalar(pair.value)) continue
    let value = pair.value.value
    if (typeof value === 'string' && hasReference(value)) {
      const result = substituteEnv(value, env)
      value = result.value === undefined ? undefined : pair.value.type === 'PLAIN' ? resolvePlainScalar(result.value) : result.value
    }
    out[toCamelCase(String(pair.key.value))] = value
  }
  return out
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
function parsePath(path: string): PathKey[] {
  const out: PathKey[] = []
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    out.push(match[2] !== undefined ? Number(match[2]) : match[1]!)
  }
  return out
}

function withLine(issue: ConfigIssue, line: number | undefined): ConfigIssue {
  return line === undefined ? issue : { ...issue, line }
}

const MAX_SYNTAX_ERRORS = 3

/** The parser's message without the source text it may quote (which could be a secret). */
function syntaxMessage(message: string): string {
  return message.split('\n')[0]!.replace(/:\s*["'`].*$/, '').trim()
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>()
  return issues.filter((issue) => {
    const id = `${issue.path}\0${issue.line}\0${issue.message}`
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

function sortByLine(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || a.index - b.index)
    .map(({ issue }) => issue)
}

function warnOnConsole(warning: ConfigIssue): void {
  const where = warning.line === undefined ? warning.path : `${warning.path} (line ${warning.line})`
  console.warn(`yatagarasu config: ${where}: ${warning.message}`)
}
