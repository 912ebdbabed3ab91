//! Writes the UI's generated TypeScript: `ui/src/bindings/*.ts` and `ui/src/commands.ts`.
//!
//! `cargo run --bin export-bindings` writes into `ui/src`; `cargo run --bin export-bindings --
//! DIR` writes into DIR instead (scripts/check-bindings compares the two).

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src"));
    match backstage_inspector_app::bindings::export(&dir) {
        Ok(n) => println!("wrote {n} files into {}", dir.display()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
