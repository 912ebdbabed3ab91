//! Embeds the project's SQL migrations (`migrations/<area>/NNNN_name.sql`) into the core, so
//! that `bsi` and the app carry them and never read them from disk at run time.

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"))
        .join("../../migrations");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut entries = Vec::new();
    if let Ok(areas) = std::fs::read_dir(&root) {
        for area in areas.flatten().filter(|e| e.path().is_dir()) {
            println!("cargo:rerun-if-changed={}", area.path().display());
            for file in std::fs::read_dir(area.path())
                .expect("read migrations")
                .flatten()
            {
                let path = file.path();
                if path.extension().and_then(|e| e.to_str()) == Some("sql") {
                    let canonical = path.canonicalize().expect("canonical path");
                    entries.push((
                        area.file_name().to_string_lossy().to_string(),
                        file.file_name().to_string_lossy().to_string(),
                        canonical,
                    ));
                }
            }
        }
    }
    entries.sort();
    let mut out = String::from(
        "/// (area, file name, SQL), sorted.\npub static EMBEDDED: &[(&str, &str, &str)] = &[\n",
    );
    for (area, name, path) in entries {
        writeln!(
            out,
            "    ({area:?}, {name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("migrations.rs");
    std::fs::write(dest, out).expect("write migrations.rs");
}
