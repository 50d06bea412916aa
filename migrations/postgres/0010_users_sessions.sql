-- People who sign in: local accounts (a password hash, argon2id) and people known from an
-- OpenID Connect provider (no password here), with their role and team; and their sessions.

CREATE TABLE users (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    role            TEXT    NOT NULL,
    team            TEXT,
    -- local | oidc
    source          TEXT    NOT NULL DEFAULT 'local',
    -- PHC string ($argon2id$…); NULL for people who sign in through OIDC
    password_hash   TEXT,
    failed_attempts BIGINT  NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    last_sign_in    TIMESTAMPTZ
);

-- A session: the store keeps only the BLAKE3 hash of the session id (the cookie's value).
-- Role and team as they were at sign-in (an OIDC sign-in brings them from the provider).
CREATE TABLE sessions (
    id_hash       TEXT    PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT    NOT NULL,
    team          TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
