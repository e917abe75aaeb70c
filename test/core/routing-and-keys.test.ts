import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config/resolve.js'
import { encodeKey, findKeyProblem } from '../../src/routing/object-key.js'
import { createRouteTable } from '../../src/routing/route-table.js'

const s3 = { bucket: 'b', region: 'us-east-1', accessKey: 'AK', secretKey: 'SK' }

function table(prefixes: string[], basePath?: string) {
  return createRouteTable(
    resolveConfig({
      ...(basePath !== undefined && { basePath }),
      buckets: prefixes.map((pathPrefix, i) => ({ name: `b${i}`, pathPrefix, s3 })),
    }),
  )
}

function routeOf(match: ReturnType<ReturnType<typeof table>['match']>) {
  return match.kind === 'object' ? `${match.bucket.name}:${match.key}` : match.kind
}

describe('longest-prefix routing per path segment', () => {
  const routes = table(['/cdn', '/cdn/videos', '/media/'])

  it('picks the longest matching prefix', () => {
    expect(routeOf(routes.match('/cdn/videos/a.mp4'))).toBe('b1:a.mp4')
    expect(routeOf(routes.match('/cdn/videosx/a.mp4'))).toBe('b0:videosx/a.mp4')
    expect(routeOf(routes.match('/cdn/a/b/c.txt'))).toBe('b0:a/b/c.txt')
    expect(routeOf(routes.match('/media/x'))).toBe('b2:x')
  })

  it('matches whole segments only', () => {
    expect(routes.match('/cdnx/a').kind).toBe('no-bucket')
    expect(routes.match('/cd/a').kind).toBe('no-bucket')
    expect(routes.match('/').kind).toBe('no-bucket')
  })

  it('treats a path without a key as empty, never a listing', () => {
    expect(routes.match('/cdn').kind).toBe('empty-key')
    expect(routes.match('/cdn/').kind).toBe('empty-key')
    expect(routes.match('/cdn/videos/').kind).toBe('empty-key')
  })

  it('decodes keys once, segment by segment', () => {
    expect(routeOf(routes.match('/cdn/a%20b/c%2Bd.txt'))).toBe('b0:a b/c+d.txt')
    expect(routeOf(routes.match('/cdn/%E6%97%A5%E6%9C%AC.txt'))).toBe('b0:日本.txt')
    expect(routeOf(routes.match('/cdn/a%2Fb'))).toBe('b0:a/b')
    expect(routeOf(routes.match('/cdn/a//b'))).toBe('b0:a//b')
  })

  it('matches decoded prefixes', () => {
    const spaced = table(['/my files'])
    expect(routeOf(spaced.match('/my%20files/x'))).toBe('b0:x')
  })

  it('removes basePath before routing and 404s outside it', () => {
    const mounted = table(['/cdn'], '/api/s3/')
    expect(routeOf(mounted.match('/api/s3/cdn/a.txt'))).toBe('b0:a.txt')
    expect(mounted.match('/cdn/a.txt').kind).toBe('no-bucket')
    expect(mounted.match('/api/s3x/cdn/a.txt').kind).toBe('no-bucket')
  })

  it('supports a root bucket behind more specific ones', () => {
    const rooted = table(['/', '/private'])
    expect(routeOf(rooted.match('/a/b.txt'))).toBe('b0:a/b.txt')
    expect(routeOf(rooted.match('/private/x'))).toBe('b1:x')
  })
})

describe('hostile keys', () => {
  const routes = table(['/cdn'])
  const problemOf = (path: string) => {
    const match = routes.match(path)
    return match.kind === 'bad-key' ? match.problem : match.kind
  }

  it.each([
    ['/cdn/..%2Fsecret', 'dot-segment'],
    ['/cdn/a/..%2F..%2Fb', 'dot-segment'],
    ['/cdn/%2e%2e%2fb', 'dot-segment'],
    ['/cdn/a%2F.%2Fb', 'dot-segment'],
    ['/cdn/%252E%252E/x', 'dot-segment'],
    ['/cdn/%25252e%25252e/x', 'dot-segment'],
    ['/cdn/a%00b', 'nul'],
    ['/cdn/a%2500b', 'object'],
    ['/cdn/%FF', 'encoding'],
    ['/cdn/%C0%AE%C0%AE/x', 'encoding'],
    ['/cdn/%E0%A4', 'encoding'],
    ['/cdn/%zz', 'encoding'],
    ['/cdn/...', 'object'],
    ['/cdn/.well-known/x', 'object'],
  ])('%s → %s', (path, expected) => {
    expect(problemOf(path)).toBe(expected)
  })

  it('refuses keys longer than 1024 UTF-8 bytes', () => {
    expect(findKeyProblem('a'.repeat(1024))).toBeUndefined()
    expect(findKeyProblem('a'.repeat(1025))).toBe('too-long')
    expect(findKeyProblem('é'.repeat(512))).toBeUndefined()
    expect(findKeyProblem('é'.repeat(513))).toBe('too-long')
    expect(findKeyProblem('😀'.repeat(256))).toBeUndefined()
    expect(findKeyProblem('😀'.repeat(257))).toBe('too-long')
  })
})

describe('S3 key encoding', () => {
  it('encodes each segment the way SigV4 canonicalises it', () => {
    expect(encodeKey('a b/c+d.txt')).toBe('a%20b/c%2Bd.txt')
    expect(encodeKey("()[]!*'~._-")).toBe('%28%29%5B%5D%21%2A%27~._-')
    expect(encodeKey('100%/x')).toBe('100%25/x')
    expect(encodeKey('ünï/日本.txt')).toBe('%C3%BCn%C3%AF/%E6%97%A5%E6%9C%AC.txt')
    expect(encodeKey('/lead//double/')).toBe('/lead//double/')
    expect(encodeKey('q?x=1#f&y')).toBe('q%3Fx%3D1%23f%26y')
  })
})

describe('raw paths: a backslash, or a dot segment under any separator or encoding, is refused before routing', () => {
  const routes = table(['/private', '/public'])
  const problemOf = (rawPath: string) => {
    const match = routes.match(new URL(`http://x${rawPath}`).pathname, rawPath)
    return match.kind === 'bad-key' ? match.problem : match.kind
  }

  it.each([
    // The review's example: URL parsing turns `\` into `/` and resolves `..` into the other bucket.
    ['/private/..\\public\\hello.txt', 'backslash'],
    ['/public/..\\private\\secret.txt', 'backslash'],
    ['/public/a\\b.txt', 'backslash'],
    ['\\public/x', 'backslash'],
    ['/public/x\\', 'backslash'],
  ])('%s → %s', (rawPath, expected) => {
    expect(problemOf(rawPath)).toBe(expected)
  })

  const dots = ['..', '.', '%2e%2e', '%2E%2E', '%2E.', '.%2e', '%2e', '%252e%252e', '%252E.', '%25252e%25252E']
  const separators = ['/', '%2f', '%2F', '%5c', '%5C', '%252f', '%255c', '%255C']
  const cases: string[] = []
  for (const dot of dots) {
    for (const separator of separators) {
      cases.push(`/public/a${separator}${dot}${separator}b`) // middle
      cases.push(`/public/${dot}${separator}private${separator}x`) // start of the key
      cases.push(`/public/a${separator}${dot}`) // end
    }
    cases.push(`/${dot}/private/x`) // start of the path
    cases.push(`/public/x/${dot}`)
    cases.push(`/public/x/${dot}?q=1`)
  }
  it.each(cases)('%s → dot-segment', (rawPath) => {
    expect(problemOf(rawPath)).toBe('dot-segment')
  })

  it.each([
    ['/public/...', 'object'],
    ['/public/a..b', 'object'],
    ['/public/..a', 'object'],
    ['/public/a..', 'object'],
    ['/public/.well-known/x', 'object'],
    ['/public/%2e%2e%2e', 'object'],
    ['/public/%2e%2ea', 'object'],
    ['/public/a%5cb', 'object'], // an encoded backslash inside a name is a key like any other
    ['/public/x?path=../..\\y', 'object'], // the query is not the path
    ['/public/.\t./y', 'encoding'], // URL parsers drop tabs: `.\t.` would be `..`
  ])('near misses: %s → %s', (rawPath, expected) => {
    expect(problemOf(rawPath)).toBe(expected)
  })

  it('decoded keys: a dot segment between backslashes is refused too (%5C decodes to one)', () => {
    expect(findKeyProblem('a\\..\\b')).toBe('dot-segment')
    expect(findKeyProblem('..\\b')).toBe('dot-segment')
    expect(findKeyProblem('a\\.')).toBe('dot-segment')
    expect(findKeyProblem('a\\b..c')).toBeUndefined()
  })
})
