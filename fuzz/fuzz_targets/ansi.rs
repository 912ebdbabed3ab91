//! ANSI log text (`ansi::parse`, `strip`, `render`) on any text: spans are non-empty, hold no
//! escape, and adjacent ones differ in style; stripping gives the spans' text and leaves no
//! escape; what is rendered for a terminal parses back to the same spans.

#![no_main]

use bsi_core::ansi::{self, Span};
use libfuzzer_sys::fuzz_target;

fn style(s: &Span) -> Span {
    Span {
        text: String::new(),
        ..s.clone()
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let spans = ansi::parse(&text);
    for s in &spans {
        assert!(!s.text.is_empty(), "empty span in {spans:?}");
        assert!(
            !s.text.contains(['\x1b', '\u{9b}']),
            "escape kept in {spans:?}"
        );
    }
    for w in spans.windows(2) {
        assert_ne!(style(&w[0]), style(&w[1]), "unmerged spans in {spans:?}");
    }
    let stripped = ansi::strip(&text);
    assert!(
        !stripped.contains(['\x1b', '\u{9b}']),
        "escape kept: {stripped:?}"
    );
    let joined: String = spans.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(stripped, joined);
    assert!(stripped.len() <= text.len());
    let rendered = ansi::render(&spans);
    assert_eq!(ansi::parse(&rendered), spans, "rendered as {rendered:?}");
    assert_eq!(ansi::strip(&rendered), stripped);
    // Plain text is left alone.
    if !text.contains(['\x1b', '\u{9b}']) {
        assert_eq!(stripped, *text);
    }
});
