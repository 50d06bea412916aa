//! Extractors that answer with [`ApiError`] themselves: the caller admitted by the route's
//! roles, and the path, query and JSON body read or refused with a 400 (413 for a body over
//! the limit). A handler names them in this order — the role check runs before any input is
//! read, so a caller without the role learns nothing about what the route would accept.

use super::auth::{CUSTOMER_READERS, OPERATORS, PHONE_LOOKUP, Role};
use super::error::ApiError;
use super::state::{AppState, Caller};
use axum::extract::{FromRequest, FromRequestParts, Json, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

/// The roles a route admits, as a type (see [`Allowed`]).
pub trait Roles: Send + Sync + 'static {
    const ROLES: &'static [Role];
}

macro_rules! roles {
    ($($(#[$m:meta])* $name:ident = $set:expr;)*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Roles for $name {
            const ROLES: &'static [Role] = $set;
        }
    )*};
}

roles! {
    /// Sales and service: customers, their documents, contacts, complaints, reminders.
    CustomerReaders = CUSTOMER_READERS;
    /// Caller-ID: the telephone system, sales and service.
    PhoneReaders = PHONE_LOOKUP;
    /// Operations: runs, quarantine, identity decisions, tokens.
    Operators = OPERATORS;
    /// Reports: operations (all teams), sales and service (their own team).
    ReportReaders = &[Role::Ops, Role::Sales, Role::Service];
}

/// The caller of a route that admits the roles `R`: 401 without valid credentials, 403 with
/// another role — before the route reads its path, query or body.
#[derive(Debug, Clone)]
pub struct Allowed<R: Roles>(pub Caller, PhantomData<R>);

impl<R: Roles> Deref for Allowed<R> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl<R: Roles> FromRequestParts<Arc<AppState>> for Allowed<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(R::ROLES)?;
        Ok(Allowed(caller, PhantomData))
    }
}

/// The route's path parameters, or a 400 that says what is wrong with them.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// The query string, or a 400 that says what is wrong with it.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// The JSON body, or a 400 that says what is wrong with it (413 over the body limit).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::payload_too_large())
            }
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}
