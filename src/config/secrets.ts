export const MASK = '***'

/**
 * Makes `JSON.stringify(object)` print `***` for the given secret fields, without
 * changing how code reads them. The `toJSON` is non-enumerable, so spreading or
 * iterating the object is unaffected.
 */
export function maskSecretsInJson<T extends object>(object: T, secretKeys: readonly (keyof T)[]): T {
  Object.defineProperty(object, 'toJSON', {
    enumerable: false,
    configurable: true,
    value(this: T) {
      const copy = { ...this } as Record<string, unknown>
      for (const key of secretKeys) if (copy[key as string] !== undefined) copy[key as string] = MASK
      return copy
    },
  })
  return object
}
