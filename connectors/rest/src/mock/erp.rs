//! The ERPNext, SAP B1 and weclapp APIs: auth, filters, sort, paging and answer shapes.

use super::query::{self, header, holds, param, text};
use super::{
    ERPNEXT_TOKEN, Flavor, MockData, SAP_COMPANY_DB, SAP_PASSWORD, SAP_USER, State, WECLAPP_TOKEN,
    json,
};
use crate::stamp::ServerTz;
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

pub fn id_field(flavor: Flavor, stream: &str) -> &'static str {
    match flavor {
        Flavor::ErpNext => "name",
        Flavor::SapB1 => match stream {
            "BusinessPartners" => "CardCode",
            "Items" => "ItemCode",
            _ => "DocEntry",
        },
        Flavor::Weclapp
        | Flavor::Xentral
        | Flavor::Lexoffice
        | Flavor::BusinessCentral
        | Flavor::Generic(_) => "id",
        Flavor::JtlWawi => "Id",
    }
}

/// Writes "now" (`ms` since the epoch) into a record's modification field(s).
pub fn set_modified(flavor: Flavor, rec: &mut Value, ms: i64) {
    let utc = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .naive_utc();
    let local = ServerTz::CentralEurope.utc_to_local(utc);
    match flavor {
        Flavor::ErpNext => {
            rec["modified"] = json!(local.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
        }
        Flavor::SapB1 => {
            rec["UpdateDate"] = json!(local.format("%Y-%m-%d").to_string());
            rec["UpdateTime"] = json!(local.format("%H:%M:%S").to_string());
        }
        Flavor::Weclapp => rec["lastModifiedDate"] = json!(ms),
        Flavor::Xentral => super::xentral::set_modified(rec, ms),
        Flavor::Lexoffice => super::lexoffice::set_modified(rec, ms),
        Flavor::BusinessCentral => {
            rec["lastModifiedDateTime"] = json!(utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            rec["@odata.etag"] = json!(format!("W/\"JzIwOzE{ms:x}Oyc=\""));
        }
        Flavor::JtlWawi => super::jtl::set_created(rec, ms),
        Flavor::Generic(_) => {
            rec["modified"] = json!(utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
    }
}

fn unauthorized(flavor: Flavor) -> (ResponseTemplate, u16) {
    let body = match flavor {
        Flavor::SapB1 => {
            json!({"error": {"code": 301, "message": {"lang": "en-us", "value": "Invalid session or session already timeout."}}})
        }
        Flavor::ErpNext => json!({"exc_type": "AuthenticationError", "message": "Not permitted"}),
        _ => json!({"error": "unauthorized"}),
    };
    json(401, body)
}

/// `None` when the request is authorised.
pub fn check_auth(st: &State, req: &Request) -> Option<(ResponseTemplate, u16)> {
    let flavor = st.data.flavor;
    if flavor == Flavor::JtlWawi {
        return super::jtl::check_auth(req);
    }
    let ok = match flavor {
        Flavor::ErpNext => {
            header(req, "authorization").as_deref() == Some(&format!("token {ERPNEXT_TOKEN}"))
        }
        Flavor::Weclapp => header(req, "authenticationtoken").as_deref() == Some(WECLAPP_TOKEN),
        Flavor::Xentral => super::xentral::authorized(st, req),
        Flavor::Lexoffice => super::lexoffice::authorized(req),
        Flavor::BusinessCentral => super::bc::authorized(st, req),
        Flavor::SapB1 => header(req, "cookie").is_some_and(|c| {
            c.split(';').any(|kv| {
                kv.trim()
                    .strip_prefix("B1SESSION=")
                    .is_some_and(|s| st.sessions.contains(s))
            })
        }),
        Flavor::JtlWawi => false,
        Flavor::Generic(_) => {
            !st.auth
                || header(req, "authorization").as_deref()
                    == Some(&format!("Bearer {}", super::API_TOKEN))
        }
    };
    match (ok, flavor) {
        (true, _) => None,
        (false, Flavor::Xentral) => Some(super::xentral::unauthorized()),
        (false, Flavor::BusinessCentral) => Some(super::bc::unauthorized()),
        (false, Flavor::Lexoffice) => Some(super::lexoffice::unauthorized()),
        (false, _) => Some(unauthorized(flavor)),
    }
}

pub fn sap_login(st: &mut State, req: &Request) -> (ResponseTemplate, u16) {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let good = body["CompanyDB"] == SAP_COMPANY_DB
        && body["UserName"] == SAP_USER
        && body["Password"] == SAP_PASSWORD;
    if req.method.as_str() != "POST" || !good {
        return json(
            401,
            json!({"error": {"code": -304, "message": {"lang": "en-us", "value": "Fail to get DB Credentials from SLD"}}}),
        );
    }
    st.logins += 1;
    let id = format!(
        "{:08x}-{:04x}-11f0-8000-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u64(..) & 0xffff_ffff_ffff
    );
    st.sessions.insert(id.clone());
    let t = ResponseTemplate::new(200)
        .insert_header("Set-Cookie", format!("B1SESSION={id}; HttpOnly").as_str())
        .append_header("Set-Cookie", "ROUTEID=.node1; path=/b1s")
        .set_body_json(json!({
            "odata.metadata": "$metadata#B1Sessions/@Element",
            "SessionId": id,
            "Version": "1000190",
            "SessionTimeout": 30
        }));
    (t, 200)
}

fn decoded_tail(req: &Request, prefix: &str) -> Option<String> {
    let p = req.url.path().strip_prefix(prefix)?;
    Some(
        url::form_urlencoded::parse(format!("x={p}").as_bytes())
            .next()?
            .1
            .into_owned(),
    )
}

fn not_found(what: &str) -> (Value, Vec<(String, String)>, u16) {
    (
        json!({"error": format!("not found: {what}")}),
        Vec::new(),
        404,
    )
}

fn bad(msg: &str) -> (Value, Vec<(String, String)>, u16) {
    (json!({"error": msg}), Vec::new(), 400)
}

fn page(list: &[Value], offset: usize, limit: usize) -> Vec<Value> {
    list.iter().skip(offset).take(limit).cloned().collect()
}

/// The answer of an ERP data request: body, extra headers, status.
pub fn answer(data: &MockData, req: &Request) -> (Value, Vec<(String, String)>, u16) {
    match data.flavor {
        Flavor::ErpNext => erpnext(data, req),
        Flavor::SapB1 => sap(data, req),
        Flavor::Weclapp => weclapp(data, req),
        Flavor::Lexoffice => super::lexoffice::answer(data, req),
        Flavor::JtlWawi => super::jtl::answer(data, req),
        Flavor::Generic(_) | Flavor::BusinessCentral | Flavor::Xentral => bad("not served here"),
    }
}

fn erpnext(data: &MockData, req: &Request) -> (Value, Vec<(String, String)>, u16) {
    let Some(doctype) = decoded_tail(req, "/api/resource/") else {
        return not_found(req.url.path());
    };
    let Some(all) = data.streams.get(&doctype) else {
        return not_found(&doctype);
    };
    let filters: Vec<Value> = match param(req, "filters") {
        Some(f) => match serde_json::from_str(&f) {
            Ok(Value::Array(a)) => a,
            _ => return bad("filters must be a JSON list"),
        },
        None => Vec::new(),
    };
    let mut list: Vec<Value> = all
        .iter()
        .filter(|r| {
            filters.iter().all(|f| {
                let f = f.as_array().map(Vec::as_slice).unwrap_or(&[]);
                // [field, op, value] or [doctype, field, op, value]
                let f = if f.len() == 4 { &f[1..] } else { f };
                match f {
                    [field, op, v] => holds(
                        r.get(field.as_str().unwrap_or("")),
                        op.as_str().unwrap_or(""),
                        &text(Some(v)).unwrap_or_default(),
                    ),
                    _ => false,
                }
            })
        })
        .cloned()
        .collect();
    let order = param(req, "order_by").unwrap_or_else(|| "modified desc".into());
    let keys: Vec<(String, bool)> = order
        .split(',')
        .filter_map(|k| {
            let mut it = k.split_whitespace();
            let f = it.next()?.trim_matches('`').to_owned();
            Some((f, it.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"))))
        })
        .collect();
    query::sort(&mut list, &keys);
    let start: usize = param(req, "limit_start")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let len: usize = param(req, "limit_page_length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    (json!({ "data": page(&list, start, len) }), Vec::new(), 200)
}

fn sap(data: &MockData, req: &Request) -> (Value, Vec<(String, String)>, u16) {
    let Some(entity) = decoded_tail(req, "/b1s/v1/") else {
        return not_found(req.url.path());
    };
    let Some(all) = data.streams.get(&entity) else {
        return not_found(&entity);
    };
    let mut conds = Vec::new();
    if let Some(f) = param(req, "$filter") {
        for part in f.split(" and ") {
            let part = part.trim().trim_start_matches('(').trim_end_matches(')');
            let mut it = part.splitn(3, ' ');
            match (it.next(), it.next(), it.next()) {
                (Some(field), Some(op), Some(lit)) => conds.push((
                    field.to_owned(),
                    op.to_owned(),
                    lit.trim_matches('\'').to_owned(),
                )),
                _ => return bad("unsupported $filter"),
            }
        }
    }
    let mut list: Vec<Value> = all
        .iter()
        .filter(|r| conds.iter().all(|(f, op, lit)| holds(r.get(f), op, lit)))
        .cloned()
        .collect();
    if let Some(o) = param(req, "$orderby") {
        let keys: Vec<(String, bool)> = o
            .split(',')
            .map(|k| {
                let mut it = k.split_whitespace();
                let f = it.next().unwrap_or("").to_owned();
                (f, it.next().is_some_and(|d| d == "desc"))
            })
            .collect();
        query::sort(&mut list, &keys);
    }
    let skip: usize = param(req, "$skip")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max_page = header(req, "prefer")
        .and_then(|p| {
            p.split(',').find_map(|x| {
                x.trim()
                    .strip_prefix("odata.maxpagesize=")
                    .map(str::to_owned)
            })
        })
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(20);
    let top: Option<usize> = param(req, "$top").and_then(|v| v.parse().ok());
    let remaining = list
        .len()
        .saturating_sub(skip)
        .min(top.unwrap_or(usize::MAX));
    let n = remaining.min(max_page);
    let mut body = json!({
        "odata.metadata": format!("$metadata#{entity}"),
        "value": page(&list, skip, n),
    });
    if remaining > n {
        // Server-driven paging: the same query with $skip moved on (offset based).
        let mut next = req.url.clone();
        let pairs: Vec<(String, String)> = req
            .url
            .query_pairs()
            .filter(|(k, _)| k != "$skip" && k != "$top")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .chain(top.map(|t| ("$top".to_owned(), (t - n).to_string())))
            .chain([("$skip".to_owned(), (skip + n).to_string())])
            .collect();
        next.query_pairs_mut().clear().extend_pairs(pairs);
        let rel = format!("{entity}?{}", next.query().unwrap_or(""));
        body["odata.nextLink"] = json!(rel);
    }
    (body, Vec::new(), 200)
}

fn weclapp(data: &MockData, req: &Request) -> (Value, Vec<(String, String)>, u16) {
    let Some(entity) = decoded_tail(req, "/webapp/api/v1/") else {
        return not_found(req.url.path());
    };
    let Some(all) = data.streams.get(&entity) else {
        return not_found(&entity);
    };
    let mut conds = Vec::new();
    for (k, v) in req.url.query_pairs() {
        if let Some((field, op)) = k.rsplit_once('-')
            && ["eq", "ne", "gt", "ge", "lt", "le"].contains(&op)
        {
            conds.push((field.to_owned(), op.to_owned(), v.into_owned()));
        }
    }
    let mut list: Vec<Value> = all
        .iter()
        .filter(|r| conds.iter().all(|(f, op, lit)| holds(r.get(f), op, lit)))
        .cloned()
        .collect();
    if let Some(s) = param(req, "sort") {
        let keys: Vec<(String, bool)> = s
            .split(',')
            .map(|k| match k.strip_prefix('-') {
                Some(f) => (f.to_owned(), true),
                None => (k.to_owned(), false),
            })
            .collect();
        query::sort(&mut list, &keys);
    }
    let size: usize = param(req, "pageSize")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    if size == 0 || size > 1000 {
        return bad("pageSize must be between 1 and 1000");
    }
    let page_no: usize = param(req, "page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let start = page_no.saturating_sub(1) * size;
    (
        json!({ "result": page(&list, start, size) }),
        Vec::new(),
        200,
    )
}
