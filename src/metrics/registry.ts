/**
 * A small metrics registry rendering the Prometheus text exposition format (version
 * 0.0.4): counters, gauges (set, or read when scraped) and histograms, with labels.
 * Runtime-neutral and dependency-free.
 *
 * Label values are whatever the caller passes: pass only bounded, non-secret values
 * (bucket names, methods, status codes) — never a path, a query string or a token.
 */

/** Label values by label name. */
export type Labels = Readonly<Record<string, string>>

export interface Counter {
  /** Adds `value` (default 1; must not be negative). */
  inc(labels?: Labels, value?: number): void
}

export interface Gauge {
  set(labels: Labels, value: number): void
  inc(labels?: Labels, value?: number): void
  dec(labels?: Labels, value?: number): void
}

export interface Histogram {
  observe(labels: Labels, value: number): void
}

/** Reads a metric's series when scraped: `[labels, value]` pairs. */
export type Collect = () => Iterable<readonly [Labels, number]>

export interface MetricRegistry {
  counter(name: string, help: string, labelNames?: readonly string[], collect?: Collect): Counter
  gauge(name: string, help: string, labelNames?: readonly string[], collect?: Collect): Gauge
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram
  /** Everything, in the text exposition format. */
  render(): string
}

/** The `Content-Type` of {@link MetricRegistry.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** Prometheus' default histogram buckets, in seconds. */
export const DEFAULT_SECONDS_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

interface Family {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'histogram'
  render(lines: string[]): void
}

/** Creates an empty registry. */
export function createRegistry(): MetricRegistry {
  const families = new Map<string, Family>()

  function add<T extends Family>(family: T): T {
    if (!METRIC_NAME.test(family.name)) throw new TypeError(`invalid metric name ${JSON.stringify(family.name)}`)
    if (families.has(family.name)) throw new TypeError(`metric ${family.name} is already registered`)
    families.set(family.name, family)
    return family
  }

  /** A counter's or a gauge's series, registered: one value per label set. */
  function simple(type: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[], collect: Collect | undefined): Series {
    const series = new Series(labelNames)
    add({ name, help, type, render: (lines) => renderSimple(lines, name, series, collect) })
    return series
  }

  return {
    counter(name, help, labelNames = [], collect) {
      const series = simple('counter', name, help, labelNames, collect)
      return {
        inc(labels = {}, value = 1) {
          if (!(value >= 0)) throw new RangeError(`${name}: a counter only goes up`)
          series.add(labels, value)
        },
      }
    },
    gauge(name, help, labelNames = [], collect) {
      const series = simple('gauge', name, help, labelNames, collect)
      return {
        set: (labels, value) => series.set(labels, value),
        inc: (labels = {}, value = 1) => series.add(labels, value),
        dec: (labels = {}, value = 1) => series.add(labels, -value),
      }
    },
    histogram(name, help, labelNames, buckets) {
      if (labelNames.includes('le')) throw new TypeError(`${name}: 'le' is reserved for histogram buckets`)
      const bounds = [...buckets].sort((a, b) => a - b)
      const series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>()
      const names = new Series(labelNames)
      add({
        name,
        help,
        type: 'histogram' as const,
        render(lines: string[]) {
          for (const { labels, counts, sum, count } of series.values()) {
            let cumulative = 0
            bounds.forEach((bound, index) => {
              cumulative += counts[index]!
              lines.push(`${name}_bucket${labelText({ ...labels, le: formatNumber(bound) })} ${cumulative}`)
            })
            lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`)
            lines.push(`${name}_sum${labelText(labels)} ${formatNumber(sum)}`)
            lines.push(`${name}_count${labelText(labels)} ${count}`)
          }
        },
      })
      return {
        observe(labels, value) {
          const id = names.id(labels)
          let entry = series.get(id)
          if (entry === undefined) {
            entry = { labels: names.normalise(labels), counts: bounds.map(() => 0), sum: 0, count: 0 }
            series.set(id, entry)
          }
          // Counted in the first bucket it fits; render() accumulates.
          const index = bounds.findIndex((bound) => value <= bound)
          if (index !== -1) entry.counts[index]!++
          entry.sum += value
          entry.count++
        },
      }
    },
    render() {
      const lines: string[] = []
      for (const family of families.values()) {
        lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
        lines.push(`# TYPE ${family.name} ${family.type}`)
        family.render(lines)
      }
      return lines.length > 0 ? `${lines.join('\n')}\n` : ''
    },
  }
}

/** Values of one metric by label set. */
class Series {
  readonly values = new Map<string, { labels: Labels; value: number }>()

  constructor(private readonly labelNames: readonly string[]) {
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new TypeError(`invalid label name ${JSON.stringify(label)}`)
    }
  }

  /** Only the declared labels, in declared order; a missing one is `''`. */
  normalise(labels: Labels): Labels {
    const out: Record<string, string> = {}
    for (const name of this.labelNames) out[name] = String(labels[name] ?? '')
    return out
  }

  id(labels: Labels): string {
    return this.labelNames.map((name) => labels[name] ?? '').join('\u0000')
  }

  add(labels: Labels, delta: number): void {
    const id = this.id(labels)
    const entry = this.values.get(id)
    if (entry) entry.value += delta
    else this.values.set(id, { labels: this.normalise(labels), value: delta })
  }

  set(labels: Labels, value: number): void {
    const id = this.id(labels)
    const entry = this.values.get(id)
    if (entry) entry.value = value
    else this.values.set(id, { labels: this.normalise(labels), value })
  }
}

function renderSimple(lines: string[], name: string, series: Series, collect: Collect | undefined): void {
  const merged = new Map<string, { labels: Labels; value: number }>()
  for (const [id, entry] of series.values) merged.set(id, { ...entry })
  if (collect) {
    for (const [labels, value] of collect()) {
      const id = series.id(labels)
      const entry = merged.get(id)
      if (entry) entry.value += value
      else merged.set(id, { labels: series.normalise(labels), value })
    }
  }
  for (const { labels, value } of merged.values()) lines.push(`${name}${labelText(labels)} ${formatNumber(value)}`)
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
  return parts.length > 0 ? `{${parts.join(',')}}` : ''
}

/** Exposition format: `\`, `"` and line feeds are escaped in label values. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}
