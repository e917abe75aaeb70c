// Types for scripts/build-if-needed.mjs (the tests' global setup uses it).
export function needsBuild(outputs: Array<number | undefined>, inputs: number[]): boolean
export function buildIfNeeded(root: string, options?: { log?: (message: string) => void }): boolean
