// The registry: every command of the app, one line each, as `module::name` of a function
// declared in a `commands!` block of src/commands/<module>.rs. Included by build.rs, which
// takes the names for the app manifest and the capability, and by src/lib.rs, which takes the
// names, the handler and the commands' descriptions for the TypeScript bindings. The order is
// that of the generated `ui/src/commands.ts`.

registry! {
    status::app_status,
    about::about,
    // connections
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
    connections::switch_installation,
    connections::save_installation,
    // operations
    ops::cancel,
    // overview
    overview::overview,
    overview::installations,
    // doctor
    doctor::doctor,
    // catalog
    catalog::entities,
    catalog::facets,
    catalog::entity,
    catalog::why,
    catalog::processing_errors,
    catalog::orphans,
    catalog::stale,
    catalog::locations,
    catalog::catalog_capabilities,
    // graph
    graph::graph_neighbourhood,
    graph::graph_path,
    graph::broken_refs,
    // scaffolder
    scaffolder::tasks,
    scaffolder::task,
    // auth
    auth::offline_sessions,
    auth::browser_sessions,
    auth::oauth_sessions,
    auth::signing_keys,
    auth::user_info,
    auth::decode_jwt,
    // search
    search::search_types,
    search::search,
    // techdocs
    techdocs::techdocs,
    // tables
    tables::list_tables,
    tables::browse_table,
    // console
    console::console_run,
    console::console_explain,
    console::console_recipes,
    console::console_recipe,
    console::console_copy,
    console::console_history,
    console::console_saved,
    console::console_save,
    console::console_delete_saved,
    // migrations
    migrations::migration_status,
    migrations::migration_plan,
    migrations::apply_migrations,
    // knex
    knex::knex_status,
    knex::knex_unlock,
}
