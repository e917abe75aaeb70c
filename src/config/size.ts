const UNITS: Record<string, number> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
}

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i

/**
 * Parses a size: a number of bytes, or a string like `"10MB"`. `KB`, `MB`, `GB`, `TB`
 * are powers of 1024 (as in the original Yatagarasu), and so are `KiB`, `MiB`, ...
 * Returns `undefined` for anything else.
 *
 * @example parseSize('10MB') // 10485760
 */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined
  const match = SIZE.exec(value)
  if (!match) return undefined
  const unit = UNITS[(match[2] || 'B').toUpperCase()]
  if (unit === undefined) return undefined
  const bytes = Math.round(Number(match[1]) * unit)
  return Number.isSafeInteger(bytes) ? bytes : undefined
}
