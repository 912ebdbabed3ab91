// The app's commands, by name: the one list that the app manifest (build.rs), the capability
// and the generated TypeScript bindings agree on. Included by build.rs and src/lib.rs.

/// Every command the main window may call.
pub const COMMANDS: &[&str] = &[
    "app_status",
    // connections
    "list_profiles",
    "get_profile",
    "add_profile",
    "import_app_config",
    "remove_profile",
    "test_connection",
    "test_profile_input",
    "keyring_status",
    "set_write_mode",
    "open_profile",
    "current_profile",
    "close_profile",
    // operations
    "cancel",
    // overview
    "overview",
    // catalog
    "entities",
    "facets",
    "entity",
    "processing_errors",
    "orphans",
    "stale",
    "locations",
    "catalog_capabilities",
    // graph
    "graph_neighbourhood",
    "graph_path",
    "broken_refs",
    // scaffolder
    "tasks",
    "task",
    // auth
    "offline_sessions",
    "browser_sessions",
    "oauth_sessions",
    "signing_keys",
    "user_info",
    "decode_jwt",
    // search
    "search_types",
    "search",
    // techdocs
    "techdocs",
    // tables
    "list_tables",
    "browse_table",
    // migrations
    "migration_status",
    "migration_plan",
    "apply_migrations",
    // knex
    "knex_status",
    "knex_unlock",
];
