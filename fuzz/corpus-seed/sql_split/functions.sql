-- A migration; with a semicolon in the comment.
CREATE TABLE refresh_state (
  entity_id text PRIMARY KEY,
  note text DEFAULT 'it''s; fine',
  "odd;name" int
);

/* a block /* nested; */ comment; */
CREATE FUNCTION touch() RETURNS trigger AS $fn$
BEGIN
  NEW.updated_at := now(); -- inside the body
  RAISE NOTICE 'a;b';
  RETURN NEW;
END;
$fn$ LANGUAGE plpgsql;

CREATE TRIGGER t BEFORE UPDATE ON refresh_state FOR EACH ROW EXECUTE FUNCTION touch();
DO $$ BEGIN PERFORM 1; END $$;
SELECT $1, $2::text WHERE x = $3;;
