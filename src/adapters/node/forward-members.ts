/**
 * How the Node adapter's lazy `Request` and `Response` stay whole: each member of
 * undici's class that they don't serve themselves is read from undici's object, built
 * on first need.
 */

/**
 * Defines on `target` each getter, setter and method of `source` that `target` does not
 * define itself, reading it from `resolve(this)` instead (as srvx's `lazyInherit` does).
 */
export function forwardMembers<T extends object>(target: object, source: object, resolve: (self: T) => object): void {
  for (const key of Reflect.ownKeys(source)) {
    if (key === 'constructor' || Object.prototype.hasOwnProperty.call(target, key)) continue
    const descriptor = Object.getOwnPropertyDescriptor(source, key)!
    if (descriptor.get !== undefined || descriptor.set !== undefined) {
      Object.defineProperty(target, key, {
        configurable: true,
        enumerable: descriptor.enumerable ?? false,
        get(this: T) {
          return (resolve(this) as Record<PropertyKey, unknown>)[key]
        },
        ...(descriptor.set !== undefined && {
          set(this: T, value: unknown) {
            ;(resolve(this) as Record<PropertyKey, unknown>)[key] = value
          },
        }),
      })
    } else if (typeof descriptor.value === 'function') {
      Object.defineProperty(target, key, {
        configurable: true,
        writable: true,
        enumerable: descriptor.enumerable ?? false,
        value(this: T, ...args: unknown[]) {
          const resolved = resolve(this) as Record<PropertyKey, (...a: unknown[]) => unknown>
          return resolved[key]!(...args)
        },
      })
    }
  }
}

/**
 * Defines on `target` a getter for each symbol-keyed own field of `sample` (where undici
 * keeps an object's state, which its constructors read from another Request or Response
 * directly), reading it from `resolve(this)`.
 */
export function forwardStateFields<T extends object>(target: object, sample: object, resolve: (self: T) => object): void {
  for (const key of Object.getOwnPropertySymbols(sample)) {
    Object.defineProperty(target, key, {
      configurable: true,
      get(this: T) {
        return (resolve(this) as Record<symbol, unknown>)[key]
      },
    })
  }
}
