/**
 * The image parameters as pure functions: what is a transform request, what it asks
 * for once validated (400 naming the parameter otherwise), the output format chosen
 * from Accept, the canonical text that keys the cache, and URL signatures.
 */
import { describe, expect, it } from 'vitest'
import { InvalidImageParameterError, signImageUrl } from '../../src/index.js'
import {
  canonicalOperation,
  chooseFormat,
  hasImageParameters,
  parseImageRequest,
  toOperation,
} from '../../src/images/params.js'
import { importSigningKey, signedText, verifySignature } from '../../src/images/signature.js'

const LIMITS = { maxWidth: 4096, maxHeight: 2048 }
const parse = (query: string) => parseImageRequest(new URLSearchParams(query), LIMITS)

function refusal(query: string): InvalidImageParameterError {
  try {
    parse(query)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidImageParameterError)
    return error as InvalidImageParameterError
  }
  throw new Error(`expected ${query} to be refused`)
}

describe('which requests are transforms', () => {
  it('any image parameter makes one; other parameters and the signature alone do not', () => {
    expect(hasImageParameters(new URLSearchParams('w=10'))).toBe(true)
    expect(hasImageParameters(new URLSearchParams('v=3&grayscale'))).toBe(true)
    expect(hasImageParameters(new URLSearchParams(''))).toBe(false)
    expect(hasImageParameters(new URLSearchParams('v=3&s=abc&token=x'))).toBe(false)
  })
})

describe('parseImageRequest', () => {
  it('reads every parameter', () => {
    expect(parse('w=800&h=600&fit=contain&q=80&fmt=webp&rotate=90&flip=h&blur=2.5&sharpen=1&grayscale=1')).toEqual({
      width: 800,
      height: 600,
      fit: 'contain',
      quality: 80,
      format: 'webp',
      rotate: 90,
      flip: 'h',
      blur: 2.5,
      sharpen: 1,
      grayscale: true,
    })
  })

  it('applies dpr to the dimensions, defaults fit to cover', () => {
    expect(parse('w=400&h=301&dpr=1.5')).toEqual({ width: 600, height: 452, fit: 'cover', grayscale: false })
    expect(parse('grayscale')).toEqual({ fit: 'cover', grayscale: true })
    expect(parse('fmt=auto&grayscale=false')).toEqual({ fit: 'cover', format: 'auto', grayscale: false })
  })

  it.each([
    ['w=0', 'w'],
    ['w=4097', 'w'],
    ['w=1e3', 'w'],
    ['w=-5', 'w'],
    ['w=', 'w'],
    ['h=2049', 'h'],
    ['w=3000&dpr=2', 'w'],
    ['h=12.5', 'h'],
    ['fit=crop', 'fit'],
    ['q=0', 'q'],
    ['q=101', 'q'],
    ['q=high', 'q'],
    ['fmt=gif', 'fmt'],
    ['fmt=WEBP', 'fmt'],
    ['dpr=0.5', 'dpr'],
    ['dpr=5', 'dpr'],
    ['rotate=45', 'rotate'],
    ['rotate=0', 'rotate'],
    ['flip=x', 'flip'],
    ['blur=0.1', 'blur'],
    ['blur=101', 'blur'],
    ['sharpen=0', 'sharpen'],
    ['sharpen=11', 'sharpen'],
    ['grayscale=yes', 'grayscale'],
    ['w=10&w=20', 'w'],
  ])('%s → 400 naming %s', (query, parameter) => {
    const error = refusal(query)
    expect(error.status).toBe(400)
    expect(error.parameter).toBe(parameter)
    expect(error.message).toContain(`parameter ${parameter}:`)
  })

  it('ignores parameters that are not image parameters', () => {
    expect(parse('w=10&v=3&utm_source=x')).toEqual({ width: 10, fit: 'cover', grayscale: false })
  })
})

describe('chooseFormat', () => {
  it('auto takes AVIF, then WebP, from Accept; else the source format', () => {
    expect(chooseFormat('auto', 'image/avif,image/webp,image/apng,*/*;q=0.8')).toBe('avif')
    expect(chooseFormat('auto', 'image/webp,*/*')).toBe('webp')
    expect(chooseFormat('auto', 'image/avif;q=0, image/webp')).toBe('webp')
    expect(chooseFormat('auto', 'IMAGE/AVIF')).toBe('avif')
    expect(chooseFormat('auto', '*/*')).toBeUndefined()
    expect(chooseFormat('auto', null)).toBeUndefined()
  })

  it('an explicit format ignores Accept', () => {
    expect(chooseFormat('png', 'image/avif')).toBe('png')
    expect(chooseFormat(undefined, 'image/avif')).toBeUndefined()
  })
})

describe('canonicalOperation', () => {
  const canonical = (query: string, accept: string | null = null) => {
    const request = parse(query)
    return canonicalOperation(toOperation(request, chooseFormat(request.format, accept)))
  }

  it('is the same for URLs asking for the same output', () => {
    expect(canonical('w=400&dpr=2&fmt=webp')).toBe(canonical('fmt=webp&w=800'))
    expect(canonical('w=400&fit=contain')).toBe(canonical('w=400'))
    expect(canonical('w=400&h=300')).toBe(canonical('h=300&fit=cover&w=400'))
    expect(canonical('fmt=auto', 'image/webp')).toBe(canonical('fmt=webp'))
  })

  it('differs for different outputs', () => {
    const all = [
      'w=400',
      'h=400',
      'w=400&h=300',
      'w=400&h=300&fit=fill',
      'fmt=png',
      'q=50',
      'rotate=90',
      'flip=v',
      'blur=1',
      'sharpen=1',
      'grayscale',
    ].map((q) => canonical(q))
    expect(new Set(all).size).toBe(all.length)
    expect(canonical('fmt=auto', 'image/avif')).not.toBe(canonical('fmt=auto', 'image/webp'))
  })
})

describe('signatures', () => {
  const KEY = 'test-signing-key-0123456789abcdef'

  it('sign PATH?QUERY with the parameters sorted by name, s left out', async () => {
    expect(signedText('/img/a.jpg', new URLSearchParams('w=10&fmt=webp&s=zz&h=5'))).toBe('/img/a.jpg?fmt=webp&h=5&w=10')
    const s = await signImageUrl(KEY, '/img/a.jpg', { w: 10, fmt: 'webp' })
    // Independently: the HMAC of the documented text, by Node's crypto.
    const { createHmac } = await import('node:crypto')
    expect(s).toBe(createHmac('sha256', KEY).update('/img/a.jpg?fmt=webp&w=10').digest('hex'))
  })

  it('verify only the exact lowercase hex HMAC', async () => {
    const key = await importSigningKey(KEY)
    const text = '/img/a.jpg?w=10'
    const s = await signImageUrl(key, '/img/a.jpg', new URLSearchParams('w=10'))
    expect(await verifySignature(key, text, s)).toBe(true)
    expect(await verifySignature(key, text, s.toUpperCase())).toBe(false)
    expect(await verifySignature(key, text, `${s.slice(0, 63)}${s[63] === '0' ? '1' : '0'}`)).toBe(false)
    expect(await verifySignature(key, text, s.slice(0, 62))).toBe(false)
    expect(await verifySignature(key, text, null)).toBe(false)
    expect(await verifySignature(key, '/img/a.jpg?w=11', s)).toBe(false)
    expect(await verifySignature(await importSigningKey('another-key'), text, s)).toBe(false)
  })
})
