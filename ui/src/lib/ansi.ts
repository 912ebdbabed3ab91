// Colours of the core's styled log spans as CSS.
import type { Color } from '../bindings/Color';
import type { Span } from '../bindings/Span';

/** xterm's 16 base colours (the same table the core uses). */
const BASE16: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, 0],
  [205, 0, 0],
  [0, 205, 0],
  [205, 205, 0],
  [0, 0, 238],
  [205, 0, 205],
  [0, 205, 205],
  [229, 229, 229],
  [127, 127, 127],
  [255, 0, 0],
  [0, 255, 0],
  [255, 255, 0],
  [92, 92, 255],
  [255, 0, 255],
  [0, 255, 255],
  [255, 255, 255],
];

function rgbOf(c: Color): readonly [number, number, number] {
  switch (c.type) {
    case 'named':
      return BASE16[c.index & 15] ?? [0, 0, 0];
    case 'indexed': {
      const i = c.index;
      if (i < 16) return BASE16[i] ?? [0, 0, 0];
      if (i >= 232) {
        const v = 8 + (i - 232) * 10;
        return [v, v, v];
      }
      const j = i - 16;
      const level = (x: number) => (x === 0 ? 0 : 55 + x * 40);
      return [level(Math.floor(j / 36)), level(Math.floor(j / 6) % 6), level(j % 6)];
    }
    case 'rgb':
      return [c.r, c.g, c.b];
  }
}

/**
 * Named colours map to theme variables (readable on light and dark backgrounds); indexed and
 * RGB colours are used as they are.
 */
export function spanColor(c: Color): string {
  if (c.type === 'named') return `var(--ansi-${c.index & 15})`;
  const [r, g, b] = rgbOf(c);
  return `rgb(${r}, ${g}, ${b})`;
}

/** The CSS of a log span's style: colours (swapped by `inverse`), weight, dimness, slant, lines. */
export interface SpanCss {
  color?: string;
  background?: string;
  fontWeight?: number;
  opacity?: number;
  fontStyle?: string;
  textDecoration?: string;
}

export function spanStyle(s: Span): SpanCss {
  const style: SpanCss = {};
  let fg = s.fg ? spanColor(s.fg) : undefined;
  let bg = s.bg ? spanColor(s.bg) : undefined;
  // Inverse without colours shows the log's background on its text colour.
  if (s.inverse) [fg, bg] = [bg ?? 'var(--log-bg)', fg ?? 'var(--text)'];
  if (fg) style.color = fg;
  if (bg) style.background = bg;
  if (s.bold) style.fontWeight = 700;
  if (s.dim) style.opacity = 0.65;
  if (s.italic) style.fontStyle = 'italic';
  const deco = [s.underline && 'underline', s.strikethrough && 'line-through'].filter(Boolean).join(' ');
  if (deco) style.textDecoration = deco;
  return style;
}
