//! The desktop shell: a Tauri window over the core. It holds the state (the profile of this
//! window, its password for this run, its pools), registers the commands of [`commands`] (one
//! module per area), and closes the pools on exit. Everything else lives in `bsi-core`.
//!
//! [`COMMANDS`] names every command once: the app manifest in `build.rs` allows exactly those
//! for the main window, and [`bindings`] generates the UI's typed `commands.ts` and the
//! TypeScript types in `ui/src/bindings/` from the same list.

pub mod bindings;
pub mod commands;
pub mod state;

include!("../command_names.rs");

use tauri::{Manager, RunEvent};

/// Registers the app's commands on a builder (shared by the real app and the command tests).
pub fn setup<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    use commands::*;
    builder.invoke_handler(tauri::generate_handler![
        status::app_status,
        connections::list_profiles,
        connections::get_profile,
        connections::add_profile,
        connections::import_app_config,
        connections::remove_profile,
        connections::test_connection,
        connections::test_profile_input,
        connections::keyring_status,
        connections::set_write_mode,
        connections::open_profile,
        connections::current_profile,
        connections::close_profile,
        ops::cancel,
        overview::overview,
        catalog::entities,
        catalog::facets,
        catalog::entity,
        catalog::processing_errors,
        catalog::orphans,
        catalog::stale,
        catalog::locations,
        catalog::catalog_capabilities,
        graph::graph_neighbourhood,
        graph::graph_path,
        graph::broken_refs,
        scaffolder::tasks,
        scaffolder::task,
        auth::offline_sessions,
        auth::browser_sessions,
        auth::oauth_sessions,
        auth::signing_keys,
        auth::user_info,
        auth::decode_jwt,
        search::search_types,
        search::search,
        techdocs::techdocs,
        tables::list_tables,
        tables::browse_table,
        migrations::migration_status,
        migrations::migration_plan,
        migrations::apply_migrations,
        knex::knex_status,
        knex::knex_unlock,
    ])
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
