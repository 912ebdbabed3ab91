//! The desktop shell: a Tauri window over the core. It holds the state (the profile of this
//! window and its pools), registers the commands of [`commands`], and closes the pools on
//! exit. Everything else lives in `bsi-core`.

pub mod commands;
pub mod state;

use tauri::{Manager, RunEvent};

/// Registers the app's commands on a builder (shared by the real app and the command tests).
pub fn setup<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![commands::status::app_status])
}

/// Runs the app. `--profile NAME` (or `BSI_PROFILE`) chooses the profile to open.
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
            Ok(())
        })
        .build(tauri::generate_context!());
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
