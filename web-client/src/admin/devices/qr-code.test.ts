import qrcode from 'qrcode-generator';
import { describe, expect, it } from 'vitest';
import { qrPath } from './qr-code';

describe('a QR code as an SVG path', () => {
  it('draws one square per dark module, inside the quiet zone', () => {
    const text = 'http://127.0.0.1:5173/?project=fashion-mnist&model=fashion-cnn&token=elt_abc';
    const { size, d } = qrPath(text);
    const code = qrcode(0, 'M');
    code.addData(text, 'Byte');
    code.make();
    const count = code.getModuleCount();
    expect(size).toBe(count + 8);
    let dark = 0;
    for (let r = 0; r < count; r++) for (let c = 0; c < count; c++) dark += code.isDark(r, c) ? 1 : 0;
    expect(d.match(/M/g)).toHaveLength(dark);
    // The top-left finder pattern's corner module sits at the quiet zone's edge.
    expect(d.startsWith('M4 4h1v1h-1z')).toBe(true);
  });
});
