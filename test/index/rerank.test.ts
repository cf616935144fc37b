import { strict as assert } from 'node:assert';
import { galleryImagesKey } from '../../src/search/gallery-images';
import { orderByMatchScore } from '../../src/search/rerank';

const matches = [
  { id: 4, label: '{"id":"g/4"}', distance: 1 },
  { id: 9, label: '{"id":"g/9"}', distance: 2 },
  { id: 2, label: '{"id":"g/2"}', distance: 2 },
  { id: 7, label: '{"id":"g/7"}', distance: 5 },
];

describe('orderByMatchScore', () => {
  it('sorts by score, highest first', () => {
    const ranked = orderByMatchScore(matches, [0.1, 0.7, 0.4, 0.9]);
    assert.deepEqual(
      ranked.map((match) => match.id),
      [7, 9, 2, 4],
    );
    assert.deepEqual(
      ranked.map((match) => match.hammingRank),
      [4, 2, 3, 1],
    );
  });

  it('keeps distances and candidates', () => {
    const ranked = orderByMatchScore(matches, [0.1, 0.7, 0.4, 0.9]);
    for (const match of ranked) assert.equal(match.distance, matches[match.hammingRank - 1].distance);
    assert.deepEqual(
      ranked.map((match) => match.id).sort((a, b) => a - b),
      [2, 4, 7, 9],
    );
  });

  it('breaks score ties by Hamming rank', () => {
    const ranked = orderByMatchScore(matches, [0.5, 0.5, 0.8, 0.5]);
    assert.deepEqual(
      ranked.map((match) => match.id),
      [2, 4, 9, 7],
    );
  });

  it('puts unscored matches last in Hamming order', () => {
    const ranked = orderByMatchScore(matches, [null, 0.2, null, 0.3]);
    assert.deepEqual(
      ranked.map((match) => match.id),
      [7, 9, 4, 2],
    );
    assert.equal(ranked[2].matchScore, null);
  });
});

describe('galleryImagesKey', () => {
  it('sits beside the code shard', () => {
    assert.equal(galleryImagesKey('reindex/demo/abc/codes.parquet'), 'reindex/demo/abc/gallery-images.json');
  });
});
