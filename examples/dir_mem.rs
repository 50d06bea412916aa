//! Memory of the in-memory directory: RSS before and after loading it from a store.
//! `cargo run --release --example dir_mem -- sqlite:///path/to/store.db`
fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let url = std::env::args().nth(1).expect("store URL");
    let store = kontor::store::open(&url).await.unwrap();
    let policy = kontor::view::Policy::default();
    // Warm the store's caches and the allocator with one load, then measure the second.
    let d = kontor::directory::Directory::load(&store, &policy, "DE")
        .await
        .unwrap();
    drop(d);
    kontor::sys::trim_heap();
    let before = rss_kib();
    let started = std::time::Instant::now();
    let d = kontor::directory::Directory::load(&store, &policy, "DE")
        .await
        .unwrap();
    let took = started.elapsed();
    kontor::sys::trim_heap();
    let after = rss_kib();
    println!(
        "{} customers: directory {:.1} MiB, {:.0} bytes per customer (RSS {:.1} → {:.1} MiB), loaded in {:.2} s",
        d.len(),
        (after - before) as f64 / 1024.0,
        (after - before) as f64 * 1024.0 / d.len().max(1) as f64,
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        took.as_secs_f64()
    );
    println!(
        "its own structures: {:.1} MiB, {:.0} bytes per customer (Directory::heap_bytes)",
        d.heap_bytes() as f64 / 1048576.0,
        d.heap_bytes() as f64 / d.len().max(1) as f64
    );
    println!(
        "peak RSS while loading (the store's rows and the directory being built): {:.1} MiB",
        status_kib("VmHWM:") as f64 / 1024.0
    );
}
