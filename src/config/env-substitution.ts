/**
 * `${VAR}` references in config text values. Supported forms:
 *
 * - `${NAME}`: the variable's value; an error when it is not set.
 * - `${NAME:-default}`: the default when the variable is unset or empty.
 * - `${NAME-default}`: the default when the variable is unset.
 * - `$${`: a literal `${`.
 *
 * A `$` not followed by `{` is kept as is. Problems are described by variable name
 * only, never by value.
 */
export type Env = Readonly<Record<string, string | undefined>>

export type Substitution = { readonly value: string; readonly problems?: undefined } | { readonly value?: undefined; readonly problems: readonly string[] }

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([\s\S]*))?$/

/** Whether `text` holds something to substitute (or an escape to undo). */
export function hasReference(text: string): boolean {
  return text.includes('${')
}

export function substituteEnv(text: string, env: Env): Substitution {
  const problems: string[] = []
  let out = ''
  let index = 0
  for (;;) {
    const at = text.indexOf('$', index)
    if (at === -1) {
      out += text.slice(index)
      break
    }
    if (text.startsWith('$${', at)) {
      out += `${text.slice(index, at)}\${`
      index = at + 3
      continue
    }
    if (!text.startsWith('${', at)) {
      out += text.slice(index, at + 1)
      index = at + 1
      continue
    }
    out += text.slice(index, at)
    const end = text.indexOf('}', at + 2)
    if (end === -1) {
      problems.push('unterminated "${": expected ${NAME} or ${NAME:-default}')
      break
    }
    const match = REFERENCE.exec(text.slice(at + 2, end))
    index = end + 1
    if (match === null) {
      problems.push('invalid variable reference: expected ${NAME} or ${NAME:-default}')
      continue
    }
    const [, name, operator, fallback] = match as unknown as [string, string, string | undefined, string | undefined]
    const value = Object.hasOwn(env, name) ? env[name] : undefined
    const useDefault = value === undefined || (operator === ':-' && value === '')
    if (!useDefault) out += value
    else if (operator !== undefined) out += fallback ?? ''
    else problems.push(`environment variable ${name} is not set`)
  }
  return problems.length > 0 ? { problems } : { value: out }
}

/**
 * A text read with YAML 1.2's core schema rules for an unquoted value: `null`/`~`
 * (and empty) are null, `true`/`false` booleans, decimal, `0o` and `0x` integers and
 * floats (with `.inf`, `.nan`) numbers; anything else stays a string.
 */
export function resolvePlainScalar(text: string): string | number | boolean | null {
  if (text === '' || /^(?:~|null|Null|NULL)$/.test(text)) return null
  if (/^(?:true|True|TRUE)$/.test(text)) return true
  if (/^(?:false|False|FALSE)$/.test(text)) return false
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text)
  if (/^0o[0-7]+$/.test(text)) return Number.parseInt(text.slice(2), 8)
  if (/^0x[0-9a-fA-F]+$/.test(text)) return Number.parseInt(text.slice(2), 16)
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text)
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  if (/^\.(?:nan|NaN|NAN)$/.test(text)) return Number.NaN
  return text
}
