// The app manifest lists the app's own commands, so that the capability in
// src-tauri/capabilities/default.json can allow exactly those (and no core plugin).
include!("command_names.rs");

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
