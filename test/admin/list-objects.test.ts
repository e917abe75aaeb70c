/** Reading a ListObjectsV2 answer: keys with XML entities, sizes, the continuation token only when truncated. */
import { describe, expect, it } from 'vitest'
import { parseListPage } from '../../src/admin/list-objects.js'

const page = (contents: string, tail: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>assets</Name><Prefix>img/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>${tail}${contents}</ListBucketResult>`

describe('parseListPage', () => {
  it('reads keys (entities decoded) and sizes, and the next token of a truncated page', () => {
    const xml = page(
      '<Contents><Key>img/a&amp;b &lt;1&gt; &quot;q&quot; &apos;s&apos; &#233;&#x1F600;.png</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;x&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>' +
        '<Contents><Key>img/IsTruncated</Key><Size>0</Size></Contents>',
      '<IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>',
    )
    expect(parseListPage(xml)).toEqual({
      objects: [
        { key: 'img/a&b <1> "q" \'s\' é😀.png', size: 12 },
        { key: 'img/IsTruncated', size: 0 },
      ],
      continuationToken: '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=',
    })
  })

  it('has no token on the last page, and no objects on an empty one', () => {
    expect(parseListPage(page('<Contents><Key>k</Key><Size>3</Size></Contents>', '<IsTruncated>false</IsTruncated>'))).toEqual({ objects: [{ key: 'k', size: 3 }] })
    expect(parseListPage(page('', '<IsTruncated>false</IsTruncated>'))).toEqual({ objects: [] })
  })
})
