import type { ClaimOperator, ClaimValue } from '../config/auth-schema.js'

/** A claim rule after validation; `path` is `claim` split on dots, once. */
export interface ResolvedClaimRule {
  readonly claim: string
  readonly path: readonly string[]
  readonly operator: ClaimOperator
  readonly value: ClaimValue | readonly ClaimValue[]
}

const MISSING = Symbol('missing')

/** The index of the first rule the claims fail, or -1 when all hold. */
export function firstFailedRule(claims: Record<string, unknown>, rules: readonly ResolvedClaimRule[]): number {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!
    const actual = claimAt(claims, rule.path, 0)
    if (actual === MISSING || !holds(rule, actual)) return i
  }
  return -1
}

function holds(rule: ResolvedClaimRule, actual: unknown): boolean {
  const expected = rule.value
  switch (rule.operator) {
    case 'equals':
      return actual === expected
    case 'contains':
      if (Array.isArray(actual)) return actual.includes(expected)
      return typeof actual === 'string' && typeof expected === 'string' && actual.includes(expected)
    case 'in':
      return isPrimitive(actual) && (expected as readonly ClaimValue[]).includes(actual)
    case 'gt':
      return typeof actual === 'number' && actual > (expected as number)
    case 'lt':
      return typeof actual === 'number' && actual < (expected as number)
  }
}

function isPrimitive(value: unknown): value is ClaimValue {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
}

/**
 * Walks a dotted path through nested objects. At each level the longest run of
 * segments that is itself a key wins, so namespaced claims whose names contain dots
 * (`https://example.com/roles`, as Auth0 requires) resolve as well as nested ones
 * (`realm_access.roles`). Own properties only: `constructor` or `__proto__` never match.
 */
function claimAt(value: unknown, path: readonly string[], from: number): unknown {
  if (from === path.length) return value
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return MISSING
  for (let to = path.length; to > from; to--) {
    const key = to === from + 1 ? path[from]! : path.slice(from, to).join('.')
    if (Object.hasOwn(value, key)) {
      const found = claimAt((value as Record<string, unknown>)[key], path, to)
      if (found !== MISSING) return found
    }
  }
  return MISSING
}
