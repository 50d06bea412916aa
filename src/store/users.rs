//! Store side of sign-in: people (local accounts with an argon2id hash, or people known from
//! an OpenID Connect provider) and their sessions (only the hash of a session id is kept). The
//! same SQL on both backends.

use super::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A person who signs in.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub team: Option<String>,
    /// `local` or `oidc`.
    pub source: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    #[sqlx(try_from = "i64")]
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_sign_in: Option<DateTime<Utc>>,
}

/// A session as the store keeps it (by the hash of its id).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user_id: i64,
    pub user_name: String,
    pub role: String,
    pub team: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new session.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user_id: i64,
    pub role: &'a str,
    pub team: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Adds a person; an error when the name is taken.
    async fn create_user(
        &self,
        name: &str,
        role: &str,
        team: Option<&str>,
        source: &str,
        password_hash: Option<&str>,
    ) -> Result<i64, StoreError>;
    /// A person known from OIDC: added on the first sign-in, role and team updated on later
    /// ones. An error when a local account has the name.
    async fn upsert_oidc_user(
        &self,
        name: &str,
        role: &str,
        team: Option<&str>,
    ) -> Result<i64, StoreError>;
    async fn users(&self) -> Result<Vec<User>, StoreError>;
    async fn user(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// Removes a person and their sessions.
    async fn remove_user(&self, name: &str) -> Result<bool, StoreError>;
    /// Sets a new password hash; ends the person's sessions and lifts a lock.
    async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError>;
    async fn unlock_user(&self, name: &str) -> Result<bool, StoreError>;
    /// Counts a failed sign-in; at `lock_after` failures in a row the account is locked until
    /// `lock_until` (and the count starts again). Returns the lock when this failure set it.
    async fn sign_in_failed(
        &self,
        user_id: i64,
        lock_after: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    async fn sign_in_succeeded(&self, user_id: i64) -> Result<(), StoreError>;

    async fn create_session(&self, s: NewSession<'_>) -> Result<(), StoreError>;
    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError>;
    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn end_session(&self, id_hash: &str) -> Result<bool, StoreError>;
    /// Ends every session of a person (sign-out everywhere); returns how many.
    async fn end_sessions(&self, user_id: i64) -> Result<u64, StoreError>;
    /// Deletes sessions idle since before `idle_before` or past their absolute end.
    async fn purge_sessions(&self, idle_before: DateTime<Utc>) -> Result<u64, StoreError>;
}

macro_rules! user_store {
    ($store:ty) => {
        #[async_trait]
        impl UserStore for $store {
            async fn create_user(
                &self,
                name: &str,
                role: &str,
                team: Option<&str>,
                source: &str,
                password_hash: Option<&str>,
            ) -> Result<i64, StoreError> {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO users (name, role, team, source, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                )
                .bind(name)
                .bind(role)
                .bind(team)
                .bind(source)
                .bind(password_hash)
                .bind(Utc::now())
                .fetch_optional(self.pool())
                .await?;
                id.ok_or_else(|| {
                    StoreError::Data(format!(
                        "a user named `{name}` exists already (remove it first, or choose another name)"
                    ))
                })
            }

            async fn upsert_oidc_user(
                &self,
                name: &str,
                role: &str,
                team: Option<&str>,
            ) -> Result<i64, StoreError> {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO users (name, role, team, source, created_at) VALUES ($1, $2, $3, 'oidc', $4) \
                     ON CONFLICT (name) DO UPDATE SET role = excluded.role, team = excluded.team \
                     WHERE users.source = 'oidc' RETURNING id",
                )
                .bind(name)
                .bind(role)
                .bind(team)
                .bind(Utc::now())
                .fetch_optional(self.pool())
                .await?;
                id.ok_or_else(|| {
                    StoreError::Data(format!(
                        "`{name}` is a local account: it cannot sign in through OIDC"
                    ))
                })
            }

            async fn users(&self) -> Result<Vec<User>, StoreError> {
                Ok(sqlx::query_as("SELECT * FROM users ORDER BY name")
                    .fetch_all(self.pool())
                    .await?)
            }

            async fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
                Ok(sqlx::query_as("SELECT * FROM users WHERE name = $1")
                    .bind(name)
                    .fetch_optional(self.pool())
                    .await?)
            }

            async fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = $1)")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                let n = sqlx::query("DELETE FROM users WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }

            async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE users SET password_hash = $2, failed_attempts = 0, locked_until = NULL \
                     WHERE name = $1 AND source = 'local'",
                )
                .bind(name)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = $1)")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(n > 0)
            }

            async fn unlock_user(&self, name: &str) -> Result<bool, StoreError> {
                let n = sqlx::query(
                    "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE name = $1",
                )
                .bind(name)
                .execute(self.pool())
                .await?
                .rows_affected();
                Ok(n > 0)
            }

            async fn sign_in_failed(
                &self,
                user_id: i64,
                lock_after: u32,
                lock_until: DateTime<Utc>,
            ) -> Result<Option<DateTime<Utc>>, StoreError> {
                let mut tx = self.begin_write().await?;
                let failed: Option<i64> = sqlx::query_scalar(
                    "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts",
                )
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                let locked = failed.is_some_and(|n| lock_after > 0 && n >= i64::from(lock_after));
                if locked {
                    sqlx::query("UPDATE users SET failed_attempts = 0, locked_until = $2 WHERE id = $1")
                        .bind(user_id)
                        .bind(lock_until)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(locked.then_some(lock_until))
            }

            async fn sign_in_succeeded(&self, user_id: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE users SET failed_attempts = 0, locked_until = NULL, last_sign_in = $2 WHERE id = $1",
                )
                .bind(user_id)
                .bind(Utc::now())
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn create_session(&self, s: NewSession<'_>) -> Result<(), StoreError> {
                let now = Utc::now();
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_id, role, team, created_at, last_seen, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $5, $6)",
                )
                .bind(s.id_hash)
                .bind(s.user_id)
                .bind(s.role)
                .bind(s.team)
                .bind(now)
                .bind(s.expires_at)
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT s.user_id, u.name, s.role, s.team, s.created_at, s.last_seen, s.expires_at \
                     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
                )
                .bind(id_hash)
                .fetch_optional(self.pool())
                .await?;
                let Some(r) = row else { return Ok(None) };
                Ok(Some(Session {
                    user_id: r.try_get("user_id")?,
                    user_name: r.try_get("name")?,
                    role: r.try_get("role")?,
                    team: r.try_get("team")?,
                    created_at: r.try_get("created_at")?,
                    last_seen: r.try_get("last_seen")?,
                    expires_at: r.try_get("expires_at")?,
                }))
            }

            async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET last_seen = $2 WHERE id_hash = $1")
                    .bind(id_hash)
                    .bind(at)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn end_session(&self, id_hash: &str) -> Result<bool, StoreError> {
                let n = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(self.pool())
                    .await?
                    .rows_affected();
                Ok(n > 0)
            }

            async fn end_sessions(&self, user_id: i64) -> Result<u64, StoreError> {
                Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(self.pool())
                    .await?
                    .rows_affected())
            }

            async fn purge_sessions(&self, idle_before: DateTime<Utc>) -> Result<u64, StoreError> {
                Ok(sqlx::query("DELETE FROM sessions WHERE last_seen < $1 OR expires_at < $2")
                    .bind(idle_before)
                    .bind(Utc::now())
                    .execute(self.pool())
                    .await?
                    .rows_affected())
            }
        }
    };
}

for_each_backend!(user_store);
