/** A QR code as an SVG path: one unit square per dark module, inside a quiet zone of 4 modules. */
import qrcode from 'qrcode-generator';

export interface QrPath {
  /** Width and height in modules, quiet zone included. */
  size: number;
  /** An SVG path drawing every dark module. */
  d: string;
}

export function qrPath(text: string, quietZone = 4): QrPath {
  const code = qrcode(0, 'M');
  code.addData(text, 'Byte');
  code.make();
  const count = code.getModuleCount();
  const parts: string[] = [];
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) if (code.isDark(row, col)) parts.push(`M${col + quietZone} ${row + quietZone}h1v1h-1z`);
  }
  return { size: count + 2 * quietZone, d: parts.join('') };
}
