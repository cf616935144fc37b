import assert from 'node:assert/strict';
import { UserInputError } from '../../src/config/errors';
import { bytesPerCode, hammingDistance, packBits, packSigns, unpackBits, validateCodeLength, SUPPORTED_CODE_LENGTHS_BITS } from '../../src/hashing/codes';
import { SeededRandom } from '../../src/hashing/random';

describe('packed codes', () => {
  it('stores bit j at byte j>>3, least significant bit first', () => {
    const signs = new Float64Array(16).fill(-1);
    signs[0] = 1;
    signs[9] = 0.5;
    signs[15] = 0;
    const codes = packSigns(signs, 1, 16);
    assert.deepEqual(Array.from(codes.data), [0b00000001, 0b10000010]);
  });

  for (const codeLengthBits of [...SUPPORTED_CODE_LENGTHS_BITS, 12]) {
    it(`pack and unpack round trip at ${codeLengthBits} bits`, () => {
      const random = new SeededRandom(codeLengthBits);
      const count = 17;
      const bits = Uint8Array.from({ length: count * codeLengthBits }, () => (random.nextUniform() < 0.5 ? 0 : 1));
      const codes = packBits(bits, count, codeLengthBits);
      assert.equal(codes.bytesPerCode, Math.ceil(codeLengthBits / 8));
      assert.equal(codes.data.length, count * codes.bytesPerCode);
      assert.deepEqual(unpackBits(codes), bits);
    });
  }

  it('leaves padding bits zero', () => {
    const codes = packSigns(new Float64Array(12).fill(1), 1, 12);
    assert.deepEqual(Array.from(codes.data), [0xff, 0x0f]);
  });

  it('counts differing bits as Hamming distance', () => {
    assert.equal(hammingDistance(Uint8Array.of(0b1010, 0xff), Uint8Array.of(0b0110, 0x00)), 10);
  });

  it('rejects unsupported code lengths', () => {
    assert.equal(validateCodeLength(48), 48);
    assert.equal(bytesPerCode(48), 6);
    assert.throws(() => validateCodeLength(24), (error: unknown) => error instanceof UserInputError && /24 bits: expected one of 16, 32, 48, 64, 128/.test(error.message));
  });
});
