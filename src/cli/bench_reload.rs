//! `kontor bench api`'s directory reload rows (issue 17, target 3): after a sync that changed
//! 100 customers' cities, how long an API node takes to bring its directory up to date by
//! reading only the changed customers, beside loading everything as it used to.

use kontor::directory::Directory;
use kontor::store::DynStore;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

/// Customers whose city the measured sync changes.
const CHANGED: usize = 100;

/// The generated customer export with the city of `changed` customers, spread over the
/// file, changed (` Nord` appended; identity does not compare it, the directory shows it).
fn with_cities_changed(original: &[u8], customers: usize, changed: usize) -> Vec<u8> {
    let step = (customers / changed.max(1)).max(1);
    let mut out = Vec::with_capacity(original.len() + changed * 8);
    let mut done = 0;
    for (n, line) in original.split_inclusive(|b| *b == b'\n').enumerate() {
        if n == 0 || (n - 1) % step != 0 || done == changed {
            out.extend_from_slice(line);
            continue;
        }
        // Field 6 (`Ort`) of `Kundennr;Firma;Namenszusatz;Straße;PLZ;Ort;…`.
        let mut fields: Vec<&[u8]> = line.split(|b| *b == b';').collect();
        if fields.len() < 7 {
            out.extend_from_slice(line);
            continue;
        }
        let city = [fields[5], b" Nord"].concat();
        fields[5] = &city;
        out.extend_from_slice(&fields.join(&b';'));
        done += 1;
    }
    out
}

/// One row: `| backend | customers changed | sync | full load | changed only | read |`.
pub(super) async fn directory_reload(
    backend: &str,
    store: &DynStore,
    ws: &Path,
    data: &Path,
    customers: u64,
) -> anyhow::Result<String> {
    let policy = kontor::view::Policy::default();
    let before = Directory::load(store, &policy, "DE").await?;
    let path = data.join("kunden.csv");
    let original = std::fs::read(&path)?;
    std::fs::write(
        &path,
        with_cities_changed(&original, customers as usize, CHANGED),
    )?;
    let t = Instant::now();
    let status = super::bench_api::kontor_cmd()
        .args(["--config"])
        .arg(ws.join("kontor.toml"))
        .args(["sync", "wawi-kunden"])
        .env("KONTOR_LOG", "warn")
        .stdout(Stdio::null())
        .status();
    let sync = t.elapsed();
    // The next backend starts from the generated file.
    std::fs::write(&path, &original)?;
    if !status?.success() {
        anyhow::bail!("{backend}: kontor sync wawi-kunden failed");
    }
    let t = Instant::now();
    let changed = before.refreshed(store, &policy, "DE").await?;
    let partial = t.elapsed();
    let Some(changed) = changed else {
        anyhow::bail!("{backend}: the store did not list the changed customers");
    };
    drop(before);
    let t = Instant::now();
    let full = Directory::load(store, &policy, "DE").await?;
    let full_took = t.elapsed();
    if (changed.len(), changed.generation) != (full.len(), full.generation) {
        anyhow::bail!("{backend}: the directory read in part differs from one loaded anew");
    }
    Ok(format!(
        "| {backend} | {} | {:.2} s | {:.3} s | {:.3} s | {} customers of {} |",
        CHANGED,
        sync.as_secs_f64(),
        full_took.as_secs_f64(),
        partial.as_secs_f64(),
        changed.changed_since_load(),
        full.len()
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_changed_export_changes_the_city_of_the_asked_customers_only() {
        let file = "Kundennr;Firma;Namenszusatz;Straße;PLZ;Ort;Land\r\n\
                    1;A;;S 1;50667;Köln;DE\r\n2;B;;S 2;80331;München;DE\r\n\
                    3;C;;S 3;01067;Dresden;DE\r\n4;D;;S 4;20457;Hamburg;DE\r\n";
        let out = String::from_utf8(super::with_cities_changed(file.as_bytes(), 4, 2)).unwrap();
        assert_eq!(
            out,
            "Kundennr;Firma;Namenszusatz;Straße;PLZ;Ort;Land\r\n\
             1;A;;S 1;50667;Köln Nord;DE\r\n2;B;;S 2;80331;München;DE\r\n\
             3;C;;S 3;01067;Dresden Nord;DE\r\n4;D;;S 4;20457;Hamburg;DE\r\n"
        );
    }
}
