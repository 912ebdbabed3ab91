//! The filters of the entity list and facets, as semi-joins on the catalog's `search` table,
//! the way Backstage filters: `f.entity_id IN (SELECT entity_id FROM search WHERE key = 'kind'
//! AND value = ANY($n))`, served by `search_key_value_entity_idx (key, value, entity_id)`.
//! Values are lower-cased like the index.
//!
//! Owners and systems are references, and Backstage stores them in several spellings:
//! `spec.owner` as written (`team-a`, `group:team-a`, `group:default/team-a`), the relations
//! (`relations.ownedby`, `relations.partof`) as full refs. A filter value in any spelling is
//! made a full ref (kind `group` or `system`, namespace `default` when absent) and matched
//! against the relation, and the value as typed against the spec field, so `team-a`,
//! `default/team-a`, `group:team-a` and `group:default/team-a` give the same rows.

use serde::{Deserialize, Serialize};

use super::{Catalog, NEED_SEARCH, Param, Sql, views};
use crate::error::Result;
use crate::refs::normalize_ref;
use crate::sql::like_contains;

/// Filters of the entity list and facets. Values of one field are alternatives (OR); fields
/// combine with AND. Matching is case-insensitive and exact, except `text`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct EntityFilter {
    pub kind: Vec<String>,
    pub namespace: Vec<String>,
    /// The owner in any spelling: `team-a`, `default/team-a`, `group:team-a` or
    /// `group:default/team-a` (matched on the `ownedBy` relation and on `spec.owner`).
    pub owner: Vec<String>,
    pub lifecycle: Vec<String>,
    /// `spec.type`.
    #[serde(rename = "type")]
    pub entity_type: Vec<String>,
    pub tag: Vec<String>,
    /// The system in any spelling: `payments` or `system:default/payments` (matched on the
    /// `partOf` relation to a system and on `spec.system`).
    pub system: Vec<String>,
    /// Words that must each appear in the name, title or description (substring match).
    pub text: Option<String>,
}

impl EntityFilter {
    pub fn is_empty(&self) -> bool {
        FacetField::ALL.iter().all(|f| self.values(*f).is_empty())
            && self.system.iter().all(|s| s.trim().is_empty())
            && self.text.as_deref().is_none_or(|t| t.trim().is_empty())
    }

    pub(super) fn values(&self, field: FacetField) -> &[String] {
        match field {
            FacetField::Kind => &self.kind,
            FacetField::Namespace => &self.namespace,
            FacetField::Owner => &self.owner,
            FacetField::Lifecycle => &self.lifecycle,
            FacetField::Type => &self.entity_type,
            FacetField::Tag => &self.tag,
        }
    }
}

/// The fields of filters and facets, and their `search` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum FacetField {
    Kind,
    Namespace,
    Owner,
    Lifecycle,
    Type,
    Tag,
}

impl FacetField {
    pub const ALL: [FacetField; 6] = [
        FacetField::Kind,
        FacetField::Namespace,
        FacetField::Owner,
        FacetField::Lifecycle,
        FacetField::Type,
        FacetField::Tag,
    ];

    /// The key of this field in the `search` table.
    pub fn search_key(self) -> &'static str {
        match self {
            FacetField::Kind => "kind",
            FacetField::Namespace => "metadata.namespace",
            FacetField::Owner => "spec.owner",
            FacetField::Lifecycle => "spec.lifecycle",
            FacetField::Type => "spec.type",
            FacetField::Tag => "metadata.tags",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FacetField::Kind => "kind",
            FacetField::Namespace => "namespace",
            FacetField::Owner => "owner",
            FacetField::Lifecycle => "lifecycle",
            FacetField::Type => "type",
            FacetField::Tag => "tag",
        }
    }
}

/// The search keys the free-text filter looks in.
const TEXT_KEYS: &str = "'metadata.name', 'metadata.title', 'metadata.description'";

/// A reference filter: the relation key in `search`, the kind a bare name has, and the spec
/// key that holds the reference as written.
struct RefField {
    relation_key: &'static str,
    default_kind: &'static str,
    spec_key: &'static str,
}

const OWNER: RefField = RefField {
    relation_key: "relations.ownedby",
    default_kind: "group",
    spec_key: "spec.owner",
};

const SYSTEM: RefField = RefField {
    relation_key: "relations.partof",
    default_kind: "system",
    spec_key: "spec.system",
};

/// The full refs (`kind:namespace/name`, lower-cased) of reference filter values in any
/// spelling, and the values as typed (lower-cased), for the spec field.
pub fn ref_spellings(values: &[String], default_kind: &str) -> (Vec<String>, Vec<String>) {
    let typed: Vec<String> = values
        .iter()
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    let full = typed
        .iter()
        .map(|v| normalize_ref(v, default_kind))
        .collect();
    (full, typed)
}

impl Catalog {
    /// The filter conditions on an entity-id expression (`id`), appended to `conds`.
    pub(super) fn filter_conditions(
        &self,
        f: &EntityFilter,
        id: &str,
        sql: &mut Sql,
        conds: &mut Vec<String>,
    ) -> Result<()> {
        if f.is_empty() {
            return Ok(());
        }
        self.check(views::ENTITY_FILTERS, &[NEED_SEARCH])?;
        sql.replan = true;
        let search = self.t("search");
        let mut by_ref = |field: &RefField, values: &[String], conds: &mut Vec<String>| {
            let (full, mut typed) = ref_spellings(values, field.default_kind);
            if full.is_empty() {
                return;
            }
            // The spec field may hold the full ref too.
            typed.extend(full.iter().cloned());
            let full = sql.bind(Param::TextArray(full));
            let typed = sql.bind(Param::TextArray(typed));
            conds.push(format!(
                "{id} IN (SELECT s.entity_id FROM {search} s WHERE \
                 (s.key = '{}' AND s.value = ANY({full})) OR (s.key = '{}' AND s.value = ANY({typed})))",
                field.relation_key, field.spec_key
            ));
        };
        by_ref(&OWNER, &f.owner, conds);
        by_ref(&SYSTEM, &f.system, conds);
        for field in FacetField::ALL {
            if field == FacetField::Owner {
                continue;
            }
            let values: Vec<String> = f
                .values(field)
                .iter()
                .map(|v| v.trim().to_lowercase())
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                continue;
            }
            let p = sql.bind(Param::TextArray(values));
            conds.push(format!(
                "{id} IN (SELECT s.entity_id FROM {search} s WHERE s.key = '{}' AND s.value = ANY({p}))",
                field.search_key()
            ));
        }
        for word in f.text.as_deref().unwrap_or_default().split_whitespace() {
            let p = sql.text(like_contains(&word.to_lowercase()));
            conds.push(format!(
                "{id} IN (SELECT s.entity_id FROM {search} s WHERE s.key IN ({TEXT_KEYS}) AND s.value LIKE {p})"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_spellings_make_one_full_ref() {
        for v in [
            "team-a",
            "default/team-a",
            "group:team-a",
            "group:default/team-a",
            " Group:Default/Team-A ",
        ] {
            let (full, _) = ref_spellings(&[v.to_string()], "group");
            assert_eq!(full, vec!["group:default/team-a".to_string()], "{v}");
        }
        let (full, _) = ref_spellings(&["payments-core".to_string()], "system");
        assert_eq!(full, vec!["system:default/payments-core".to_string()]);
    }
}
