// The app manifest lists the app's own commands, so that the capability in
// src-tauri/capabilities/default.json can allow exactly those (and no core plugin). The
// package's manifest is at the repository root, so the capabilities' folder is named here.
include!("command_names.rs");

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/command_names.rs");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
