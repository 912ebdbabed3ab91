-- 0002: events-backend event bus tables event_bus_events and event_bus_subscriptions, with primary
-- keys and column comments.
-- Corresponds to the events-backend Knex migration 20240523100528_init.js.
-- Not created: knex_migrations / knex_migrations_lock (they mark a database real Backstage manages).
-- No schema qualifier: everything is created in the first schema of the current search_path.

-- bigserial: Knex bigIncrements(); owns event_bus_events_id_seq.
CREATE TABLE event_bus_events (
    id bigserial NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    topic text NOT NULL,
    data_json text NOT NULL,
    notified_subscribers text[],
    CONSTRAINT event_bus_events_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE event_bus_events IS 'Events published to the events bus';
COMMENT ON COLUMN event_bus_events.id IS 'The unique ID of this event';
COMMENT ON COLUMN event_bus_events.created_by IS 'The principal that published the event';
COMMENT ON COLUMN event_bus_events.created_at IS 'The time that the event was created';
COMMENT ON COLUMN event_bus_events.topic IS 'The topic of the event';
COMMENT ON COLUMN event_bus_events.data_json IS 'The payload data of this event';
COMMENT ON COLUMN event_bus_events.notified_subscribers IS 'The IDs of the subscribers that have already consumed this event';

CREATE TABLE event_bus_subscriptions (
    id character varying(255) NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    read_until bigint NOT NULL,
    topics text[],
    CONSTRAINT event_bus_subscriptions_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE event_bus_subscriptions IS 'Subscriptions to the event bus';
COMMENT ON COLUMN event_bus_subscriptions.id IS 'The unique ID of this particular subscription';
COMMENT ON COLUMN event_bus_subscriptions.created_by IS 'The principal that created the subscription';
COMMENT ON COLUMN event_bus_subscriptions.created_at IS 'The time that the subscription was created';
COMMENT ON COLUMN event_bus_subscriptions.updated_at IS 'The time that the subscription was last updated';
COMMENT ON COLUMN event_bus_subscriptions.read_until IS 'The sequence counter until which the subscription has read events';
COMMENT ON COLUMN event_bus_subscriptions.topics IS 'The topics that this subscriber is interested in';
