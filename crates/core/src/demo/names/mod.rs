//! Word lists for the demo data generator: people, teams, business words and technical nouns.
//! Names built from them are lower-case and valid Backstage entity names (`[a-z0-9]` separated
//! by `-`, `_` or `.`). None of them contains `that-left`, `retired` or `legacy`: those words
//! are kept for references to entities that do not exist.
//!
//! `people` holds the organisation's words (people, departments, teams), `words` the
//! software's (business areas, technical nouns, suffixes, tags, descriptions) and the names
//! of entities that do not exist.

mod people;
mod words;

pub use people::*;
pub use words::*;
