//! Catalog recipes: entities that fail processing, are overdue, loop, are large, orphaned,
//! point at missing entities, or fill the catalog's filter table.

use super::{ALL_ERAS, LIMIT, Param, ParamKind, Recipe};
use crate::schema::Need;

const REFRESH_STATE: &str = "catalog-backend migration 20210302150147_refresh_state (0.21.5)";

pub(super) static RECIPES: &[Recipe] = &[
    Recipe {
        id: "entities-with-errors",
        title: "Entities whose processing failed",
        description: "Entities of the processing loop whose last processing ended in errors \
                      (refresh_state.errors), with the first error's message. They are missing \
                      from the catalog or stale until the error is fixed.",
        area: "catalog",
        any_database: false,
        needs: &[Need {
            table: "refresh_state",
            columns: &["entity_ref", "errors", "last_discovery_at"],
            since: REFRESH_STATE,
        }],
        params: &[
            Param {
                name: "kind",
                description: "only this kind (component, api...); empty for all",
                kind: ParamKind::Text,
                default: "",
            },
            LIMIT,
        ],
        sql: "SELECT entity_ref,\n\
              \x20      substring(errors from '\"message\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"') AS first_error,\n\
              \x20      length(errors) AS errors_length,\n\
              \x20      last_discovery_at\n\
              FROM refresh_state\n\
              WHERE errors IS NOT NULL AND btrim(errors) NOT IN ('', '[]')\n\
              \x20 AND ({kind} = '' OR lower(entity_ref) LIKE lower({kind}) || ':%')\n\
              ORDER BY entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "refresh-overdue",
        title: "Entities overdue for refresh",
        description: "Entities whose next refresh is past due by more than `minutes`, most \
                      overdue first. When every entity is overdue, catalog processing has \
                      stopped (no backend running the processing loop, or it is stuck).",
        area: "catalog",
        any_database: false,
        needs: &[Need {
            table: "refresh_state",
            columns: &["entity_ref", "next_update_at", "last_discovery_at"],
            since: REFRESH_STATE,
        }],
        params: &[
            Param {
                name: "minutes",
                description: "past due by more than this many minutes",
                kind: ParamKind::Number {
                    min: 0,
                    max: 5_256_000,
                },
                default: "30",
            },
            LIMIT,
        ],
        sql: "SELECT entity_ref, next_update_at,\n\
              \x20      date_trunc('second', now() - next_update_at) AS overdue_by,\n\
              \x20      last_discovery_at\n\
              FROM refresh_state\n\
              WHERE next_update_at < now() - make_interval(mins => {minutes})\n\
              ORDER BY next_update_at, entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "refresh-loop-candidates",
        title: "Refresh loop candidates",
        description: "Entities emitted by several parents (locations or providers that fight \
                      over them, so the entity flips between versions and keeps being \
                      re-stitched) or by themselves, most parents first.",
        area: "catalog",
        any_database: false,
        needs: &[Need {
            table: "refresh_state_references",
            columns: &["source_key", "source_entity_ref", "target_entity_ref"],
            since: REFRESH_STATE,
        }],
        params: &[
            Param {
                name: "min_parents",
                description: "at least this many parents",
                kind: ParamKind::Number {
                    min: 1,
                    max: 1_000_000,
                },
                default: "2",
            },
            LIMIT,
        ],
        sql: "SELECT target_entity_ref AS entity_ref,\n\
              \x20      count(*) AS parents,\n\
              \x20      count(*) FILTER (WHERE source_entity_ref = target_entity_ref) AS self_references,\n\
              \x20      string_agg(coalesce(source_entity_ref, 'provider ' || source_key), ', '\n\
              \x20                 ORDER BY coalesce(source_entity_ref, source_key)) AS emitted_by\n\
              FROM refresh_state_references\n\
              GROUP BY target_entity_ref\n\
              HAVING count(*) >= {min_parents}\n\
              \x20   OR count(*) FILTER (WHERE source_entity_ref = target_entity_ref) > 0\n\
              ORDER BY parents DESC, entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later, while refresh_state_references exists",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "largest-entities",
        title: "Largest entities",
        description: "Stitched entities by the size of their JSON, largest first: very large \
                      entities slow stitching, the search table and every API read.",
        area: "catalog",
        any_database: false,
        needs: &[
            Need {
                table: "final_entities",
                columns: &["entity_id", "final_entity"],
                since: REFRESH_STATE,
            },
            Need {
                table: "refresh_state",
                columns: &["entity_id", "entity_ref"],
                since: REFRESH_STATE,
            },
        ],
        params: &[LIMIT],
        sql: "SELECT s.entity_ref, octet_length(f.final_entity) AS bytes,\n\
              \x20      pg_size_pretty(octet_length(f.final_entity)::bigint) AS size\n\
              FROM final_entities f\n\
              JOIN refresh_state s ON s.entity_id = f.entity_id\n\
              WHERE f.final_entity IS NOT NULL\n\
              ORDER BY bytes DESC, s.entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "orphan-candidates",
        title: "Orphan candidates",
        description: "Entities that no location or provider emits any more (no row in \
                      refresh_state_references points at them): Backstage marks them \
                      backstage.io/orphan and, with orphanStrategy: delete, removes them.",
        area: "catalog",
        any_database: false,
        needs: &[
            Need {
                table: "refresh_state",
                columns: &["entity_ref", "last_discovery_at"],
                since: REFRESH_STATE,
            },
            Need {
                table: "refresh_state_references",
                columns: &["target_entity_ref"],
                since: REFRESH_STATE,
            },
        ],
        params: &[LIMIT],
        sql: "SELECT s.entity_ref, s.last_discovery_at\n\
              FROM refresh_state s\n\
              WHERE NOT EXISTS (SELECT 1 FROM refresh_state_references r\n\
              \x20                 WHERE r.target_entity_ref = s.entity_ref)\n\
              ORDER BY s.entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later, while refresh_state_references exists",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "relations-to-missing-targets",
        title: "Relations to missing entities",
        description: "Relation targets that are not in the catalog (no stitched entity with \
                      that ref): typos in spec.owner or dependsOn, deleted groups, entities \
                      whose processing fails. Each with the entities that point at it.",
        area: "catalog",
        any_database: false,
        needs: &[
            Need {
                table: "relations",
                columns: &["source_entity_ref", "type", "target_entity_ref"],
                since: REFRESH_STATE,
            },
            Need {
                table: "final_entities",
                columns: &["entity_id", "final_entity"],
                since: REFRESH_STATE,
            },
            Need {
                table: "refresh_state",
                columns: &["entity_id", "entity_ref"],
                since: REFRESH_STATE,
            },
        ],
        params: &[LIMIT],
        sql: "SELECT r.target_entity_ref AS missing_target, count(*) AS relations,\n\
              \x20      string_agg(DISTINCT r.type, ', ') AS types,\n\
              \x20      string_agg(DISTINCT r.source_entity_ref, ', ') AS from_entities\n\
              FROM relations r\n\
              WHERE NOT EXISTS (SELECT 1 FROM refresh_state s\n\
              \x20                 JOIN final_entities f ON f.entity_id = s.entity_id\n\
              \x20                 WHERE s.entity_ref = r.target_entity_ref\n\
              \x20                   AND f.final_entity IS NOT NULL)\n\
              GROUP BY r.target_entity_ref\n\
              ORDER BY r.target_entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
    Recipe {
        id: "catalog-search-rows-per-entity",
        title: "Catalog filter rows per entity",
        description: "Rows of the catalog's own `search` table (its key/value filter index, \
                      not the search plugin) per entity, most first: an entity with thousands \
                      of rows (huge annotations, long lists) slows every catalog filter.",
        area: "catalog",
        any_database: false,
        needs: &[
            Need {
                table: "search",
                columns: &["entity_id", "key"],
                since: REFRESH_STATE,
            },
            Need {
                table: "refresh_state",
                columns: &["entity_id", "entity_ref"],
                since: REFRESH_STATE,
            },
        ],
        params: &[LIMIT],
        sql: "SELECT s.entity_ref, count(*) AS search_rows,\n\
              \x20      count(DISTINCT x.key) AS keys\n\
              FROM search x\n\
              JOIN refresh_state s ON s.entity_id = x.entity_id\n\
              GROUP BY s.entity_ref\n\
              ORDER BY search_rows DESC, s.entity_ref\n\
              LIMIT {limit}",
        works_on: "catalog-backend 0.21.5 and later (Backstage 2021 on)",
        checked_on: ALL_ERAS,
    },
];
