/**
 * `${VAR}` references in the values of a parsed YAML document, filled in one pass over
 * its scalars (never keys or comments, and after parsing, so a value can never change
 * the document's structure). Supported forms:
 *
 * - `${NAME}`: the variable's value; an error when it is not set.
 * - `${NAME:-default}`: the default when the variable is unset or empty.
 * - `${NAME-default}`: the default when the variable is unset.
 * - `$${`: a literal `${`.
 *
 * A `$` not followed by `{` is kept as is. Problems are described by variable name
 * only, never by value.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Scalar } from 'yaml'
import { formatPath } from './issues.js'

export type Env = Readonly<Record<string, string | undefined>>

export interface Substitution {
  /**
   * The other reading of a scalar whose text means two things: an unquoted `2024`
   * is a number to YAML and `'2024'` as text; a quoted `"${PORT}"` is text and, as YAML
   * reads it, a number. `parseConfig` uses it where the schema wants the other type.
   */
  readonly otherReading: Map<Scalar, unknown>
  /** Scalars left as written because a reference could not be filled (reported in `problems`). */
  readonly failed: Set<Scalar>
  /** Paths as written where the value is first reached, e.g. `buckets[0].s3.access_key`. */
  readonly problems: Array<{ path: string; node: Scalar; message: string }>
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([\s\S]*))?$/

/**
 * Fills the values reachable from the document's root (an anchor in a top-level `x-`
 * block counts where it is used), each node once however many aliases lead to it.
 */
export function substituteEnv(doc: Document, env: Env): Substitution {
  const result: Substitution = { otherReading: new Map(), failed: new Set(), problems: [] }
  const seen = new Set<Node>()
  const walk = (node: Node | null | undefined, path: Array<string | number>): void => {
    const target = isAlias(node) ? (node.resolve(doc) as Node | undefined) : node
    if (target === undefined || target === null || seen.has(target)) return
    seen.add(target)
    if (isMap(target)) {
      for (const pair of target.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key
        // A merge key (`<<`) brings its mapping's values to this one.
        if (typeof key === 'symbol') walk(pair.value as Node, path)
        else if (!(path.length === 0 && String(key).startsWith('x-'))) walk(pair.value as Node, [...path, String(key)])
      }
    } else if (isSeq(target)) target.items.forEach((item, index) => walk(item as Node, [...path, index]))
    else if (isScalar(target)) fillScalar(target, path)
  }
  const fillScalar = (node: Scalar, path: Array<string | number>) => {
    const plain = node.type === 'PLAIN'
    if (typeof node.value !== 'string') {
      // A plain scalar typed by YAML (a number, a boolean) keeps its text as the other reading.
      if (plain && node.value !== null && typeof node.source === 'string') result.otherReading.set(node, node.source)
      return
    }
    if (!node.value.includes('${')) return
    const filled = fill(node.value, env)
    if (typeof filled !== 'string') {
      for (const message of filled.problems) result.problems.push({ path: formatPath(path), node, message })
      result.failed.add(node)
      return
    }
    // The value is read as YAML would read the text at this place: unquoted, `30` is a
    // number and `''` is null (not given); quoted, it is text.
    const typed = readPlain(filled)
    node.value = plain ? typed : filled
    const other = plain ? filled : typed
    if (other !== node.value && other !== null && !(plain && filled === '')) result.otherReading.set(node, other)
  }
  walk(doc.contents as Node | null, [])
  return result
}

/** What an unquoted scalar with this text is in YAML (1.2 core schema): null, a boolean, a number, or the text. */
function readPlain(text: string): unknown {
  if (text === '') return null
  const doc = parseDocument(text)
  const contents = doc.contents
  return doc.errors.length === 0 && isScalar(contents) && contents.type === 'PLAIN' && contents.source === text ? contents.value : text
}

function fill(text: string, env: Env): string | { problems: string[] } {
  const problems: string[] = []
  const out = text.replace(/\$\$\{|\$\{([^}]*)(\}?)/g, (_, body: string | undefined, closed: string) => {
    if (body === undefined) return '${'
    const match = closed ? REFERENCE.exec(body) : null
    if (match === null) {
      problems.push(closed ? 'invalid variable reference: expected ${NAME} or ${NAME:-default}' : 'unterminated "${": expected ${NAME} or ${NAME:-default}')
      return ''
    }
    const [, name, operator, fallback] = match as unknown as [string, string, string | undefined, string | undefined]
    const value = Object.hasOwn(env, name) ? env[name] : undefined
    if (value !== undefined && !(operator === ':-' && value === '')) return value
    if (operator !== undefined) return fallback ?? ''
    problems.push(`environment variable ${name} is not set`)
    return ''
  })
  return problems.length > 0 ? { problems } : out
}
