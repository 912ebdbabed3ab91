//! The desktop shell: a Tauri window over the core. It holds the state (the profile of this
//! window, its password for this run, its pools), registers the commands of [`commands`] (one
//! module per area), and closes the pools on exit. Everything else lives in `bsi-core`.
//!
//! A command is declared once, with [`commands::command`] in its module, and registered with one
//! line in `src-tauri/registry.rs`. From the registry come [`COMMANDS`] (the app manifest in
//! `build.rs` makes the same names from the same file, and the capability allows exactly those
//! for the main window), the handler of [`setup`], and [`SPECS`], from which [`bindings`]
//! generates the UI's typed `commands.ts` and the TypeScript types in `ui/src/bindings/`.

pub mod bindings;
pub mod commands;
pub mod state;

use tauri::{Manager, RunEvent};

/// Expands the registry into the names, the handler and the descriptions of the commands.
macro_rules! registry {
    ($($module:ident :: $name:ident),* $(,)?) => {
        /// Every command, by name, in the order of the registry.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// Every command as the bindings describe it, in the order of the registry.
        pub const SPECS: &[bindings::CommandSpec] =
            &[$(bsi_app_macros::spec!(commands::$module::$name)),*];

        /// Registers the app's commands on a builder (shared by the real app and the command
        /// tests).
        pub fn setup<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
            builder.invoke_handler(tauri::generate_handler![$(commands::$module::$name),*])
        }
    };
}
include!("../registry.rs");

/// Whether the registry has a command of this name (the compile-time check of
/// [`commands::command`]).
const fn is_registered(name: &str) -> bool {
    let mut i = 0;
    while i < COMMANDS.len() {
        if same(COMMANDS[i].as_bytes(), name.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The app's Tauri context: its configuration, its UI's files and its access control (the
/// capability, resolved at build time).
pub fn context<R: tauri::Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Paints the webview on the CPU (WebKitGTK's accelerated compositing off) unless
/// `BSI_GPU_COMPOSITING=1`. Measured on a catalog open in the app, accelerated compositing costs
/// some 100 MiB of the web process's memory (its layers, in software GL where there is no GPU
/// driver) and the app's pages, lists and tables, gain nothing from it; it is also the first
/// thing to turn off where WebKitGTK shows a blank window on some GPU drivers.
#[cfg(target_os = "linux")]
fn software_compositing(app: &tauri::App) {
    use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
    if std::env::var("BSI_GPU_COMPOSITING").is_ok_and(|v| v == "1") {
        return;
    }
    for window in app.webview_windows().into_values() {
        let done = window.with_webview(|webview| {
            if let Some(settings) = WebViewExt::settings(&webview.inner()) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        });
        if let Err(e) = done {
            tracing::warn!(error = %e, "cannot turn accelerated compositing off");
        }
    }
}

/// Runs the app. `--profile NAME` (or `BSI_PROFILE`) chooses the profile to open first.
pub fn run() {
    let launch = state::Launch::from_args(std::env::args().skip(1));
    let app = setup(tauri::Builder::default())
        .setup(move |app| {
            if let Ok(dir) = app.path().app_log_dir() {
                match bsi_core::logging::init_file(&dir, 5 * 1024 * 1024) {
                    Ok(path) => tracing::info!(log = %path.display(), "logging to file"),
                    Err(e) => eprintln!("warning: cannot log to {}: {e}", dir.display()),
                }
            }
            app.manage(state::AppState::new(launch.clone()));
            // The first screen's reads start now, beside the webview's start.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<state::AppState>().warm_up().await;
            });
            #[cfg(target_os = "linux")]
            software_compositing(app);
            Ok(())
        })
        .build(context());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: the window could not be created: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event
            && let Some(state) = handle.try_state::<state::AppState>()
        {
            tauri::async_runtime::block_on(state.close());
        }
    });
}
