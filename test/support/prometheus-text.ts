/**
 * A strict parser of the Prometheus text exposition format (0.0.4), written from the
 * format's description, independent of the code under test. Throws on anything
 * malformed: unknown line shapes, samples before their TYPE, bad names, bad label
 * syntax or escapes, duplicate series, histogram buckets that are not ascending and
 * cumulative, a `+Inf` bucket that differs from `_count`.
 */

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface MetricFamily {
  name: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help: string | undefined
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a line feed')
  const families = new Map<string, MetricFamily>()
  const seenSeries = new Set<string>()
  const lines = text.split('\n')
  lines.pop()
  lines.forEach((line, index) => {
    const where = `line ${index + 1}`
    if (line === '') throw new Error(`${where}: empty line`)
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) ([^ ]+) (.*)$/.exec(line)
      if (!match) {
        if (/^# (HELP|TYPE)/.test(line)) throw new Error(`${where}: malformed ${line}`)
        return // a plain comment
      }
      const [, kind, name, rest] = match as unknown as [string, 'HELP' | 'TYPE', string, string]
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`)
      const family = families.get(name) ?? { name, type: 'untyped' as MetricFamily['type'], help: undefined, samples: [] }
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`${where}: bad type ${rest}`)
        if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`)
        if (families.has(name) && family.type !== 'untyped') throw new Error(`${where}: second TYPE for ${name}`)
        family.type = rest as MetricFamily['type']
      } else {
        if (family.help !== undefined) throw new Error(`${where}: second HELP for ${name}`)
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`)
        family.help = rest
      }
      families.set(name, family)
      return
    }
    const sample = parseSample(line, where)
    const family = familyOf(families, sample.name)
    if (family === undefined) throw new Error(`${where}: sample ${sample.name} has no TYPE before it`)
    const seriesId = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
    if (seenSeries.has(seriesId)) throw new Error(`${where}: duplicate series ${seriesId}`)
    seenSeries.add(seriesId)
    family.samples.push(sample)
  })
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family)
    if (family.type === 'counter') {
      for (const sample of family.samples) {
        if (!(sample.value >= 0)) throw new Error(`counter ${sample.name} is negative`)
      }
    }
  }
  return families
}

function familyOf(families: Map<string, MetricFamily>, sampleName: string): MetricFamily | undefined {
  const exact = families.get(sampleName)
  if (exact && exact.type !== 'histogram' && exact.type !== 'summary') return exact
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue
    const family = families.get(sampleName.slice(0, -suffix.length))
    if (family && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return family
  }
  return undefined
}

function parseSample(line: string, where: string): Sample {
  const nameMatch = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)
  if (!nameMatch) throw new Error(`${where}: bad sample ${line}`)
  const name = nameMatch[1]!
  let rest = line.slice(name.length)
  const labels: Record<string, string> = {}
  if (rest.startsWith('{')) {
    let i = 1
    for (;;) {
      if (rest[i] === '}') {
        i++
        break
      }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest.slice(i))
      if (!labelMatch) throw new Error(`${where}: bad label syntax in ${line}`)
      const labelName = labelMatch[1]!
      if (!LABEL_NAME.test(labelName)) throw new Error(`${where}: bad label name`)
      i += labelMatch[0].length
      let value = ''
      for (;;) {
        const c = rest[i]
        if (c === undefined) throw new Error(`${where}: unterminated label value`)
        if (c === '"') {
          i++
          break
        }
        if (c === '\n') throw new Error(`${where}: raw line feed in label value`)
        if (c === '\\') {
          const next = rest[i + 1]
          if (next === '\\') value += '\\'
          else if (next === '"') value += '"'
          else if (next === 'n') value += '\n'
          else throw new Error(`${where}: bad escape \\${next} in label value`)
          i += 2
          continue
        }
        value += c
        i++
      }
      if (Object.hasOwn(labels, labelName)) throw new Error(`${where}: label ${labelName} twice`)
      labels[labelName] = value
      if (rest[i] === ',') {
        i++
        continue
      }
      if (rest[i] !== '}') throw new Error(`${where}: expected , or } in ${line}`)
    }
    rest = rest.slice(i)
  }
  const valueMatch = /^ (\S+)(?: (-?\d+))?$/.exec(rest)
  if (!valueMatch) throw new Error(`${where}: bad value part in ${line}`)
  const text = valueMatch[1]!
  let value: number
  if (text === '+Inf') value = Infinity
  else if (text === '-Inf') value = -Infinity
  else if (text === 'NaN') value = Number.NaN
  else {
    if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad number ${text}`)
    value = Number(text)
  }
  return { name, labels, value }
}

function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>()
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels
    const id = JSON.stringify(Object.entries(rest).sort())
    const group = groups.get(id) ?? { buckets: [] }
    groups.set(id, group)
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`)
      const bound = le === '+Inf' ? Infinity : Number(le)
      if (Number.isNaN(bound)) throw new Error(`${family.name}: bad le ${le}`)
      group.buckets.push([bound, sample.value])
    } else if (sample.name === `${family.name}_sum`) group.sum = sample.value
    else if (sample.name === `${family.name}_count`) group.count = sample.value
  }
  for (const [id, group] of groups) {
    if (group.count === undefined || group.sum === undefined) throw new Error(`${family.name}${id}: _sum or _count missing`)
    const bounds = group.buckets.map(([bound]) => bound)
    if (bounds.at(-1) !== Infinity) throw new Error(`${family.name}${id}: no +Inf bucket last`)
    for (let i = 1; i < group.buckets.length; i++) {
      const [previousBound, previousCount] = group.buckets[i - 1]!
      const [bound, count] = group.buckets[i]!
      if (!(bound > previousBound)) throw new Error(`${family.name}${id}: le not ascending`)
      if (count < previousCount) throw new Error(`${family.name}${id}: bucket counts not cumulative`)
    }
    if (group.buckets.at(-1)![1] !== group.count) throw new Error(`${family.name}${id}: +Inf bucket differs from _count`)
  }
}

/** The value of the one sample of `name` whose labels include `labels` (0 when none). */
export function valueOf(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue
      if (Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) return sample.value
    }
  }
  return 0
}
