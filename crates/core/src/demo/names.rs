//! Word lists for the demo data generator: people, teams, business words and technical nouns.
//! Names built from them are lower-case and valid Backstage entity names (`[a-z0-9]` separated
//! by `-`, `_` or `.`). None of them contains `that-left`, `retired` or `legacy`: those words
//! are kept for references to entities that do not exist.

pub const FIRST_NAMES: &[&str] = &[
    "aaliyah", "abel", "ada", "adrian", "agnes", "ahmed", "aiko", "alba", "alejandro", "alice",
    "amara", "amir", "ana", "anders", "andrea", "anika", "arjun", "astrid", "aurora", "ben",
    "bianca", "boris", "breanna", "bruno", "camila", "carlos", "carmen", "chen", "chiara", "chloe",
    "dana", "daniel", "dario", "deepa", "diego", "dmitri", "elena", "elif", "emil", "emma",
    "erik", "esther", "fatima", "felix", "femi", "finn", "freya", "gabriel", "greta", "hana",
    "hannah", "hassan", "helena", "hiro", "ida", "ines", "ingrid", "isaac", "ivan", "jakob",
    "janelle", "jasper", "javier", "jin", "joao", "jonas", "julia", "kai", "karin", "kenji",
    "kofi", "lara", "leila", "lena", "leo", "lucia", "luis", "maja", "malik", "marco", "maria",
    "marta", "mateo", "mei", "mila", "mina", "nadia", "naomi", "nigel", "nika", "noah", "nora",
    "olga", "omar", "oscar", "paula", "pedro", "priya", "rafael", "rania", "ravi", "rosa", "ruth",
    "sami", "sara", "sofia", "stefan", "sven", "tariq", "thea", "tomas", "uma", "valentina",
    "viktor", "wei", "yara", "yusuf", "zara", "zoe",
];

pub const LAST_NAMES: &[&str] = &[
    "abara", "adeyemi", "almeida", "andersen", "aoki", "bauer", "becker", "bianchi", "brandt",
    "castillo", "chandra", "costa", "dahl", "davison", "dawe", "delacroix", "dubois", "eriksson",
    "esposito", "farouk", "fischer", "fontaine", "garcia", "gomez", "gruber", "haddad", "hansen",
    "hartmann", "horvat", "ibrahim", "ito", "jansen", "jovanovic", "kahn", "kaur", "kim",
    "kowalski", "kruger", "lambert", "larsen", "lee", "lindqvist", "lopez", "manning", "marino",
    "martin", "mendes", "meyer", "moreau", "morita", "mueller", "nakamura", "navarro", "nguyen",
    "nielsen", "novak", "okafor", "oliveira", "osei", "park", "patel", "perez", "petrov", "popescu",
    "quinn", "rahman", "ramos", "reyes", "ricci", "rossi", "sato", "schmidt", "schneider", "silva",
    "singh", "sorensen", "suzuki", "tanaka", "torres", "ueda", "vargas", "varga", "vogel", "wagner",
    "walker", "weber", "wong", "yamamoto", "yilmaz", "zhang", "zimmermann",
];

/// Department names (second level of the group tree).
pub const DEPARTMENTS: &[&str] = &[
    "engineering", "platform", "data", "product", "security", "infrastructure", "mobile",
    "payments-division", "growth", "operations", "research", "customer-experience", "finance-it",
    "marketing-tech", "logistics-division", "identity-division",
];

/// Team name words (`team-<adjective>-<animal>` or `team-<animal>`).
pub const TEAM_ADJECTIVES: &[&str] = &[
    "amber", "arctic", "azure", "bold", "brave", "bright", "calm", "clever", "cobalt", "coral",
    "crimson", "daring", "eager", "emerald", "fast", "fierce", "gentle", "golden", "happy",
    "humble", "indigo", "iron", "jade", "keen", "lucky", "lunar", "mighty", "misty", "noble",
    "polar", "proud", "quick", "quiet", "rapid", "red", "royal", "ruby", "sage", "scarlet",
    "silent", "silver", "smart", "solar", "steady", "stellar", "swift", "teal", "tidal", "vivid",
    "wild",
];

pub const TEAM_ANIMALS: &[&str] = &[
    "albatross", "badger", "bear", "beaver", "bison", "cheetah", "cobra", "condor", "coyote",
    "crane", "dingo", "dolphin", "eagle", "falcon", "ferret", "finch", "fox", "gazelle", "gecko",
    "heron", "hornet", "husky", "ibis", "jaguar", "kestrel", "koala", "lemur", "leopard", "lion",
    "lynx", "marlin", "marmot", "meerkat", "mongoose", "moose", "narwhal", "ocelot", "orca", "otter",
    "owl", "panda", "panther", "pelican", "penguin", "phoenix", "puffin", "puma", "raven", "rhino",
    "salmon", "seal", "shark", "sparrow", "stingray", "swan", "tiger", "toucan", "turtle", "viper",
    "walrus", "wolf", "wombat", "yak", "zebra",
];

/// Business areas: domain names and the first word of system names.
pub const BUSINESS: &[&str] = &[
    "accounts", "analytics", "billing", "catalog", "checkout", "claims", "compliance", "content",
    "customers", "delivery", "discovery", "documents", "fleet", "fulfillment", "identity",
    "insurance", "inventory", "invoicing", "ledger", "lending", "loyalty", "marketing", "media",
    "messaging", "onboarding", "orders", "partners", "payments", "payroll", "pricing", "procurement",
    "promotions", "recommendations", "reporting", "returns", "reviews", "risk", "scheduling",
    "search", "shipping", "subscriptions", "support", "tax", "ticketing", "travel", "wallet",
    "warehouse",
];

/// Second word of system names.
pub const SYSTEM_SUFFIXES: &[&str] = &[
    "platform", "portal", "suite", "hub", "engine", "core", "backbone", "services", "workbench",
    "exchange",
];

/// Technical nouns: the middle of component, API and resource names.
pub const NOUNS: &[&str] = &[
    "account", "address", "alert", "artist", "asset", "audit", "auth", "avatar", "balance",
    "basket", "batch", "booking", "budget", "cache", "calendar", "campaign", "card", "cart",
    "chart", "chat", "claim", "coupon", "credit", "currency", "customer", "dashboard", "device",
    "discount", "dispatch", "document", "event", "export", "feed", "file", "forecast", "fraud",
    "gateway", "geo", "gift", "graph", "import", "incident", "index", "invoice", "item", "job",
    "label", "lead", "ledger", "license", "link", "listing", "locale", "lookup", "mail", "map",
    "match", "media", "member", "menu", "meter", "metric", "note", "notify", "offer", "order",
    "package", "page", "parcel", "partner", "payment", "payout", "plan", "playlist", "policy",
    "price", "print", "profile", "promo", "quote", "rate", "receipt", "refund", "region",
    "reminder", "render", "report", "reservation", "review", "reward", "route", "rule", "schedule",
    "score", "seat", "session", "settlement", "shipment", "signup", "sku", "slot", "stock", "store",
    "stream", "survey", "tag", "task", "tax", "ticket", "token", "track", "transfer", "trip",
    "upload", "usage", "user", "vendor", "video", "voucher", "wallet", "webhook", "wishlist",
    "zone",
];

/// Last word of component names, by component type.
pub const SERVICE_SUFFIXES: &[&str] = &[
    "service", "api", "worker", "processor", "backend", "sync", "consumer", "scheduler", "engine",
    "gateway", "manager",
];
pub const WEBSITE_SUFFIXES: &[&str] = &["web", "ui", "frontend", "app", "portal", "console"];
pub const LIBRARY_SUFFIXES: &[&str] = &["lib", "sdk", "client", "utils", "common", "kit"];

pub const TAGS: &[&str] = &[
    "java", "kotlin", "go", "python", "typescript", "nodejs", "react", "rust", "scala", "dotnet",
    "spring", "grpc", "rest", "graphql", "kafka", "postgres", "redis", "aws", "gcp", "kubernetes",
    "terraform", "data", "ml", "internal", "external", "pci", "gdpr", "tier-1", "tier-2", "tier-3",
    "legacy-free", "batch", "realtime", "mobile", "web",
];

pub const DESCRIPTION_VERBS: &[&str] = &[
    "Manages", "Stores", "Serves", "Computes", "Validates", "Publishes", "Aggregates", "Tracks",
    "Synchronises", "Exposes", "Indexes", "Routes", "Renders", "Reconciles",
];

/// Names used for references to entities that do not exist (broken references). They never
/// collide with generated names.
pub const MISSING_GROUPS: &[&str] = &[
    "team-that-left", "team-retired-ops", "team-legacy-web", "old-platform-team",
    "team-reorg-2024",
];
pub const MISSING_SYSTEMS: &[&str] = &["legacy-monolith", "retired-billing-core", "mainframe-bridge"];
pub const MISSING_APIS: &[&str] = &["legacy-orders-api", "retired-pricing-api", "soap-gateway-api"];
pub const MISSING_RESOURCES: &[&str] = &["legacy-oracle-db", "retired-queue", "old-ftp-share"];
pub const MISSING_COMPONENTS: &[&str] = &["legacy-auth-proxy", "retired-cron-runner"];
pub const MISSING_USERS: &[&str] = &["former.employee", "contractor.that-left"];
