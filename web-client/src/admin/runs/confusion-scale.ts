/**
 * The confusion matrix's colours and cell text. A cell's shade follows its share of its row (of the true class), so
 * classes with few and many test images read alike; right answers (the diagonal) are blue, mistakes orange. The text
 * colour is whichever of near-black and white contrasts more with the shade: at least 4.5:1 on every shade.
 */

/** confusion[trueClass][predictedClass] = images. */
export type Confusion = readonly (readonly number[])[];

type Rgb = readonly [number, number, number];

const WHITE: Rgb = [255, 255, 255];
/** Black, not --ink: with white it gives every shade at least 4.58:1 (--ink leaves mid shades at 4.46:1). */
const DARK_TEXT: Rgb = [0, 0, 0];
/** The darkest shades: a right answer and a mistake that take a whole row. */
const RIGHT: Rgb = [12, 74, 140];
const WRONG: Rgb = [166, 60, 0];
/** An empty cell: barely off white, so the grid stays visible. */
const EMPTY: Rgb = [246, 247, 248];

/** WCAG relative luminance of an sRGB colour. */
export function luminance([r, g, b]: Rgb): number {
  const channel = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** WCAG contrast ratio of two colours (1..21). */
export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const mix = (from: Rgb, to: Rgb, t: number): Rgb => from.map((c, i) => Math.round(c + (to[i]! - c) * t)) as unknown as Rgb;
const css = ([r, g, b]: Rgb) => `rgb(${r}, ${g}, ${b})`;

/** Background and text of a cell holding `share` (0..1) of its row; `right` for the diagonal. */
export function cellColours(share: number, right: boolean): { background: string; color: string; ratio: number } {
  // A square root lifts small shares: a class confused 3% of the time is visible, not white.
  const background = share > 0 ? mix(WHITE, right ? RIGHT : WRONG, 0.12 + 0.88 * Math.sqrt(Math.min(1, share))) : EMPTY;
  const dark = contrast(background, DARK_TEXT);
  const light = contrast(background, WHITE);
  return dark >= light ? { background: css(background), color: css(DARK_TEXT), ratio: dark } : { background: css(background), color: css(WHITE), ratio: light };
}

/** Each row's total (images of that true class). */
export const rowTotals = (confusion: Confusion): number[] => confusion.map((row) => row.reduce((a, b) => a + b, 0));

/** A cell's text: the count, or its share of the row as a whole percent ("<1%" for a small non-zero share). */
export function cellText(count: number, rowTotal: number, view: 'counts' | 'percent'): string {
  if (view === 'counts') return String(count);
  if (!rowTotal || !count) return '0%';
  const share = (count / rowTotal) * 100;
  return share < 1 ? '<1%' : `${Math.round(share)}%`;
}
