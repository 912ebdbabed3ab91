//! ANSI colour codes in log text: owns turning Select Graphic Rendition (SGR) sequences into
//! styled spans, stripping every other escape sequence, and rendering spans back into a
//! clean, SGR-only string for terminals.
//!
//! Scaffolder logs (`task_events.body.message`) carry the colour codes of Backstage's winston
//! logger (`\x1b[32minfo\x1b[39m: ...`). [`parse`] understands 30–37/90–97 foreground, 40–47/
//! 100–107 background, `38;5;n`/`48;5;n` (256 colours), `38;2;r;g;b`/`48;2;r;g;b` (true colour,
//! also the `:` sub-parameter form), 1 bold, 2 dim, 3 italic, 4 underline, 7 inverse,
//! 9 strikethrough, their resets (22, 23, 24, 27, 29) and 0/39/49. Other CSI sequences (cursor
//! movement, erase), OSC sequences (titles, hyperlinks) and two-byte escapes are removed. Text
//! is never dropped: only escape sequences are. Because [`render`] emits only SGR codes, text
//! read from a database cannot move the cursor or retitle the terminal of whoever prints it.

use serde::Serialize;

/// A colour: one of the 16 named terminal colours, a 256-palette index, or RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Color {
    /// 0–7 normal (black, red, green, yellow, blue, magenta, cyan, white), 8–15 bright.
    Named {
        index: u8,
        name: &'static str,
    },
    /// An index of the xterm 256-colour palette (16–255; 0–15 are named).
    Indexed {
        index: u8,
    },
    Rgb {
        r: u8,
        g: u8,
        b: u8,
    },
}

const NAMES: [&str; 16] = [
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "white",
    "bright-black",
    "bright-red",
    "bright-green",
    "bright-yellow",
    "bright-blue",
    "bright-magenta",
    "bright-cyan",
    "bright-white",
];

/// xterm's RGB values of the 16 named colours.
const BASE16: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

impl Color {
    fn named(index: u8) -> Color {
        let index = index & 15;
        Color::Named {
            index,
            name: NAMES[index as usize],
        }
    }

    fn palette(index: u8) -> Color {
        if index < 16 {
            Color::named(index)
        } else {
            Color::Indexed { index }
        }
    }

    /// The colour as RGB (xterm's palette for named and indexed colours).
    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Color::Named { index, .. } => BASE16[(index & 15) as usize],
            Color::Indexed { index } if index < 16 => BASE16[index as usize],
            Color::Indexed { index } if index >= 232 => {
                let v = 8 + (index - 232) * 10;
                (v, v, v)
            }
            Color::Indexed { index } => {
                let i = index - 16;
                let level = |c: u8| if c == 0 { 0 } else { 55 + c * 40 };
                (level(i / 36), level((i / 6) % 6), level(i % 6))
            }
            Color::Rgb { r, g, b } => (r, g, b),
        }
    }

    /// The colour as a CSS hex string, `#rrggbb`.
    pub fn css(self) -> String {
        let (r, g, b) = self.rgb();
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// The SGR parameters that select this colour as foreground (`bg` false) or background.
    fn sgr(self, bg: bool) -> String {
        match self {
            Color::Named { index, .. } => {
                let base = match (bg, index < 8) {
                    (false, true) => 30,
                    (false, false) => 90 - 8,
                    (true, true) => 40,
                    (true, false) => 100 - 8,
                };
                (base + u32::from(index)).to_string()
            }
            Color::Indexed { index } => format!("{};5;{index}", if bg { 48 } else { 38 }),
            Color::Rgb { r, g, b } => format!("{};2;{r};{g};{b}", if bg { 48 } else { 38 }),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Span {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub fg: Option<Color>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub bg: Option<Color>,
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub bold: bool,
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub dim: bool,
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub italic: bool,
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub underline: bool,
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub inverse: bool,
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub strikethrough: bool,
}

impl Span {
    /// Whether the span has any styling at all.
    pub fn is_plain(&self) -> bool {
        self.style() == Style::default()
    }

    fn style(&self) -> Style {
        Style {
            fg: self.fg,
            bg: self.bg,
            bold: self.bold,
            dim: self.dim,
            italic: self.italic,
            underline: self.underline,
            inverse: self.inverse,
            strikethrough: self.strikethrough,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Style {
    fg: Option<Color>,
    bg: Option<Color>,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
    inverse: bool,
    strikethrough: bool,
}

impl Style {
    fn span(self, text: String) -> Span {
        Span {
            text,
            fg: self.fg,
            bg: self.bg,
            bold: self.bold,
            dim: self.dim,
            italic: self.italic,
            underline: self.underline,
            inverse: self.inverse,
            strikethrough: self.strikethrough,
        }
    }

    /// Applies one SGR parameter list (already split on `;`, each possibly with `:` parts).
    fn apply(&mut self, params: &str) {
        // An empty list (`ESC[m`) is a reset.
        let groups: Vec<&str> = params.split(';').collect();
        let mut i = 0;
        while i < groups.len() {
            let g = groups[i];
            i += 1;
            if g.contains(':') {
                // `38:2::r:g:b`, `38:2:r:g:b`, `38:5:n`, `4:3` (curly underline)...
                let parts: Vec<u32> = g.split(':').map(|p| p.parse().unwrap_or(0)).collect();
                match parts.first() {
                    Some(&c @ (38 | 48)) => {
                        let color = match parts.get(1) {
                            Some(5) => parts.get(2).map(|&n| Color::palette(clamp(n))),
                            Some(2) => {
                                // With a colour-space id the RGB values are the last three.
                                let rgb = if parts.len() >= 6 {
                                    &parts[3..6]
                                } else {
                                    &parts[2..parts.len().min(5)]
                                };
                                (rgb.len() == 3).then(|| Color::Rgb {
                                    r: clamp(rgb[0]),
                                    g: clamp(rgb[1]),
                                    b: clamp(rgb[2]),
                                })
                            }
                            _ => None,
                        };
                        if let Some(color) = color {
                            if c == 38 {
                                self.fg = Some(color);
                            } else {
                                self.bg = Some(color);
                            }
                        }
                    }
                    Some(4) => self.underline = parts.get(1).is_none_or(|&s| s != 0),
                    Some(&n) => self.simple(n),
                    None => {}
                }
                continue;
            }
            let n: u32 = if g.is_empty() {
                0
            } else {
                match g.parse() {
                    Ok(n) => n,
                    Err(_) => continue,
                }
            };
            match n {
                38 | 48 => {
                    let mode = groups.get(i).and_then(|s| s.parse::<u32>().ok());
                    let color = match mode {
                        Some(5) => {
                            let c = groups.get(i + 1).and_then(|s| s.parse::<u32>().ok());
                            i += 2;
                            c.map(|c| Color::palette(clamp(c)))
                        }
                        Some(2) => {
                            let v: Vec<Option<u32>> = (1..=3)
                                .map(|k| groups.get(i + k).and_then(|s| s.parse().ok()))
                                .collect();
                            i += 4;
                            match (v[0], v[1], v[2]) {
                                (Some(r), Some(g), Some(b)) => Some(Color::Rgb {
                                    r: clamp(r),
                                    g: clamp(g),
                                    b: clamp(b),
                                }),
                                _ => None,
                            }
                        }
                        // Malformed: nothing sensible follows; ignore the rest of the list.
                        _ => {
                            i = groups.len();
                            None
                        }
                    };
                    if let Some(color) = color {
                        if n == 38 {
                            self.fg = Some(color);
                        } else {
                            self.bg = Some(color);
                        }
                    }
                }
                n => self.simple(n),
            }
        }
    }

    fn simple(&mut self, n: u32) {
        match n {
            0 => *self = Style::default(),
            1 => self.bold = true,
            2 => self.dim = true,
            3 => self.italic = true,
            4 | 21 => self.underline = true,
            7 => self.inverse = true,
            9 => self.strikethrough = true,
            22 => {
                self.bold = false;
                self.dim = false;
            }
            23 => self.italic = false,
            24 => self.underline = false,
            27 => self.inverse = false,
            29 => self.strikethrough = false,
            30..=37 => self.fg = Some(Color::named((n - 30) as u8)),
            39 => self.fg = None,
            40..=47 => self.bg = Some(Color::named((n - 40) as u8)),
            49 => self.bg = None,
            90..=97 => self.fg = Some(Color::named((n - 90 + 8) as u8)),
            100..=107 => self.bg = Some(Color::named((n - 100 + 8) as u8)),
            // Blink, hidden, fonts, frames...: not shown, and harmless to ignore.
            _ => {}
        }
    }

    fn sgr(self) -> String {
        let mut p: Vec<String> = Vec::new();
        let flags = [
            (self.bold, "1"),
            (self.dim, "2"),
            (self.italic, "3"),
            (self.underline, "4"),
            (self.inverse, "7"),
            (self.strikethrough, "9"),
        ];
        p.extend(flags.iter().filter(|f| f.0).map(|f| f.1.to_string()));
        if let Some(c) = self.fg {
            p.push(c.sgr(false));
        }
        if let Some(c) = self.bg {
            p.push(c.sgr(true));
        }
        format!("\x1b[{}m", p.join(";"))
    }
}

fn clamp(n: u32) -> u8 {
    n.min(255) as u8
}

struct Builder {
    spans: Vec<Span>,
    text: String,
    style: Style,
}

impl Builder {
    fn flush(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        match self.spans.last_mut() {
            Some(last) if last.style() == self.style => last.text.push_str(&text),
            _ => self.spans.push(self.style.span(text)),
        }
    }

    fn set(&mut self, style: Style) {
        if style != self.style {
            self.flush();
            self.style = style;
        }
    }
}

/// Parses text with ANSI escape sequences into styled spans. Adjacent spans with the same
/// style are merged; no span is empty; the spans' texts joined are the input without its
/// escape sequences.
pub fn parse(input: &str) -> Vec<Span> {
    let mut b = Builder {
        spans: Vec::new(),
        text: String::new(),
        style: Style::default(),
    };
    let mut chars = input.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        let csi = match c {
            '\u{1b}' => match chars.peek().map(|&(_, c)| c) {
                Some('[') => {
                    chars.next();
                    true
                }
                Some(']') => {
                    chars.next();
                    skip_string(&mut chars);
                    continue;
                }
                // DCS, SOS, PM, APC: strings ended by ST, like OSC.
                Some('P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                    continue;
                }
                // Character set designation: ESC ( B and friends take one more byte.
                Some('(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%' | ' ') => {
                    chars.next();
                    if chars.peek().is_some_and(|&(_, c)| c.is_ascii_graphic()) {
                        chars.next();
                    }
                    continue;
                }
                // Any other two-byte escape (ESC 7, ESC =, ESC M...).
                Some(c) if ('\u{20}'..='\u{7e}').contains(&c) => {
                    chars.next();
                    continue;
                }
                // A lone ESC (end of text or before a non-escape char): drop just the ESC.
                _ => continue,
            },
            '\u{9b}' => true,
            _ => false,
        };
        if !csi {
            b.text.push(c);
            continue;
        }
        // CSI: parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F, one final byte
        // 0x40–0x7E. A byte out of place ends the sequence and is kept as text.
        let mut params = String::new();
        let mut final_byte = None;
        while let Some(&(_, c)) = chars.peek() {
            if ('\u{30}'..='\u{3f}').contains(&c) || ('\u{20}'..='\u{2f}').contains(&c) {
                params.push(c);
                chars.next();
            } else if ('\u{40}'..='\u{7e}').contains(&c) {
                final_byte = Some(c);
                chars.next();
                break;
            } else {
                break;
            }
        }
        if final_byte == Some('m')
            && params
                .chars()
                .all(|c| c.is_ascii_digit() || c == ';' || c == ':')
        {
            let mut style = b.style;
            style.apply(&params);
            b.set(style);
        }
    }
    b.flush();
    b.spans
}

/// Skips an OSC/DCS string up to and including its terminator (BEL or ESC \). An
/// unterminated string runs to the end of the text, as a terminal would treat it.
fn skip_string(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    while let Some((_, c)) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek().is_some_and(|&(_, c)| c == '\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// The text without any escape sequence.
pub fn strip(input: &str) -> String {
    if !input.contains(['\u{1b}', '\u{9b}']) {
        return input.to_string();
    }
    parse(input).into_iter().map(|s| s.text).collect()
}

/// Renders spans for a terminal: SGR codes only, with a reset at the end when styled.
pub fn render(spans: &[Span]) -> String {
    let mut out = String::new();
    let mut current = Style::default();
    for s in spans {
        let style = s.style();
        if style != current {
            if current != Style::default() {
                out.push_str("\x1b[0m");
            }
            if style != Style::default() {
                out.push_str(&style.sgr());
            }
            current = style;
        }
        out.push_str(&s.text);
    }
    if current != Style::default() {
        out.push_str("\x1b[0m");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(spans: &[Span]) -> String {
        spans.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn winston_levels() {
        let s = parse("\u{1b}[32minfo\u{1b}[39m: Hello svc-alpha");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].text, "info");
        assert_eq!(s[0].fg, Some(Color::named(2)));
        assert_eq!(s[0].fg.unwrap().css(), "#00cd00");
        assert!(s[1].is_plain());
        assert_eq!(s[1].text, ": Hello svc-alpha");
    }

    #[test]
    fn attributes_colours_and_resets() {
        let s = parse("\x1b[1;3;4;91;44mA\x1b[22mB\x1b[0mC\x1b[2mD\x1b[49;23mE");
        assert_eq!(texts(&s), "ABCDE");
        let a = &s[0];
        assert!(a.bold && a.italic && a.underline);
        assert_eq!(a.fg, Some(Color::named(9)));
        assert_eq!(a.bg, Some(Color::named(4)));
        assert!(!s[1].bold && s[1].italic && s[1].underline && s[1].bg.is_some());
        assert!(s[2].is_plain());
        assert!(
            s[3].dim && s[3].text == "DE",
            "dim stays; resets of unset things merge: {s:?}"
        );
    }

    #[test]
    fn extended_colours() {
        let s = parse(
            "\x1b[38;5;196mX\x1b[38;5;3mY\x1b[48;2;1;2;3mZ\x1b[38:2::10:20:30mW\x1b[38:5:100mV",
        );
        assert_eq!(s[0].fg, Some(Color::Indexed { index: 196 }));
        assert_eq!(s[0].fg.unwrap().css(), "#ff0000");
        assert_eq!(s[1].fg, Some(Color::named(3)));
        assert_eq!(s[2].bg, Some(Color::Rgb { r: 1, g: 2, b: 3 }));
        assert_eq!(
            s[3].fg,
            Some(Color::Rgb {
                r: 10,
                g: 20,
                b: 30
            })
        );
        assert_eq!(s[4].fg, Some(Color::Indexed { index: 100 }));
        assert_eq!(Color::Indexed { index: 232 }.css(), "#080808");
        // Malformed extended colours are ignored, text kept.
        let s = parse("\x1b[38;5mA\x1b[38;2;1mB\x1b[38mC\x1b[38;5;999mD");
        assert_eq!(texts(&s), "ABCD");
        assert_eq!(s.last().unwrap().fg, Some(Color::Indexed { index: 255 }));
    }

    #[test]
    fn other_sequences_are_stripped_and_text_kept() {
        let input = "a\x1b[2Kb\x1b[1;1Hc\x1b]0;title\x07d\x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\e\x1b(Bf\x1b7g\x1b";
        assert_eq!(strip(input), "abcdlinkefg");
        // A broken CSI keeps the text that follows; a lone ESC vanishes.
        assert_eq!(strip("x\x1b[12\u{e9}y"), "x\u{e9}y");
        assert_eq!(strip("\x1b[31"), "");
        assert_eq!(strip("tab\tnew\nline \u{1b}z"), "tab\tnew\nline ");
        // Unicode survives.
        assert_eq!(strip("\x1b[35mcafé ✓\x1b[0m"), "café ✓");
        assert!(parse("").is_empty());
        assert_eq!(strip("plain"), "plain");
    }

    #[test]
    fn render_round_trips_styles_and_emits_only_sgr() {
        let input =
            "\x1b[1;31merror\x1b[0m: \x1b]0;evil\x07\x1b[2Jdone \x1b[38;2;1;2;3mrgb\x1b[39m";
        let spans = parse(input);
        let out = render(&spans);
        assert_eq!(parse(&out), spans);
        assert!(
            !out.contains("\x1b]") && !out.contains("\x1b[2J"),
            "{out:?}"
        );
        assert!(out.ends_with("\x1b[0m"));
        assert_eq!(render(&parse("plain")), "plain");
    }

    #[test]
    fn serialises_compactly() {
        let v = serde_json::to_value(parse("\x1b[1;32mok\x1b[0m!")).unwrap();
        assert_eq!(v[0]["fg"]["type"], "named");
        assert_eq!(v[0]["fg"]["name"], "green");
        assert_eq!(v[0]["bold"], true);
        assert!(v[1].get("bold").is_none() && v[1].get("fg").is_none());
    }
}
