//! For the operations drills: a WaWi workspace (the sample exports and shipped mappings),
//! `kontor` commands, and `kontor serve` nodes as child processes on loopback ports.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `kontor` command in `dir` (logs at info, human format unless the args say otherwise).
pub fn kontor(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kontor"));
    c.args(args)
        .current_dir(dir)
        .env("KONTOR_LOG", "info")
        .env_remove("KONTOR_LOG_JSON");
    c
}

/// Runs a command to its end: (exit code, stdout, stderr).
pub fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o: Output = kontor(dir, args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The WaWi connectors of the samples, each with `extra` TOML lines.
pub const CONNECTORS: &[(&str, &str, &str)] = &[
    ("wawi-kunden", "kunden.csv", "wawi-kunden.toml"),
    (
        "wawi-offene-posten",
        "offene_posten.csv",
        "wawi-offene-posten.toml",
    ),
    ("wawi-lager", "lagerbestand.csv", "wawi-lager.toml"),
];

/// `[[connector]]` entries for `names` (of [`CONNECTORS`]), reading `inbox/<name>/`.
pub fn connectors_toml(names: &[&str], extra: &str) -> String {
    let mut s = String::new();
    for (name, _, mapping) in CONNECTORS.iter().filter(|c| names.contains(&c.0)) {
        s.push_str(&format!(
            "[[connector]]\nname = \"{name}\"\nkind = \"csv\"\nsystem = \"wawi\"\npath = \"inbox/{name}\"\n\
             mapping = \"mappings/{mapping}\"\nmin_age_seconds = 0\n{extra}\n"
        ));
    }
    s
}

/// A workspace with the shipped mappings, each sample export in `inbox/<connector>/`, and
/// `kontor.toml` (store, `[sync] jitter = "200ms"`, the connectors).
pub fn workspace(store_url: &str, connectors: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("mappings");
    std::fs::create_dir(&m).unwrap();
    for f in std::fs::read_dir(repo().join("mappings"))
        .unwrap()
        .flatten()
    {
        if f.path().extension().is_some_and(|e| e == "toml") {
            std::fs::copy(f.path(), m.join(f.file_name())).unwrap();
        }
    }
    for (name, file, _) in CONNECTORS {
        let inbox = dir.path().join("inbox").join(name);
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::copy(
            repo().join("tests/fixtures/wawi").join(file),
            inbox.join(file),
        )
        .unwrap();
    }
    write_config(dir.path(), "kontor.toml", store_url, "", connectors);
    dir
}

/// Writes a config file into the workspace.
pub fn write_config(dir: &Path, file: &str, store_url: &str, server: &str, connectors: &str) {
    std::fs::write(
        dir.join(file),
        format!("[store]\nurl = \"{store_url}\"\n[server]\n{server}\n[sync]\njitter = \"200ms\"\n\n{connectors}"),
    )
    .unwrap();
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `kontor serve` process; its log goes to a file.
pub struct Node {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Node {
    /// `kontor [args…] serve --listen 127.0.0.1:PORT` in `dir`.
    pub fn start(dir: &Path, args: &[&str]) -> Node {
        let port = free_port();
        let log = dir.join(format!("node-{port}.log"));
        let listen = format!("127.0.0.1:{port}");
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["serve", "--listen", &listen]);
        let child = kontor(dir, &all)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Node {
            child,
            base: format!("http://{listen}"),
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: a child process of this test.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// `/healthz` once the node answers.
    pub async fn health(&self) -> Option<serde_json::Value> {
        let r = kontor::testing::http_client()
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    }

    pub fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` every 200 ms until it gives a value, at most `limit`.
pub async fn poll<T>(limit: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Some(v) = f().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// A webhook receiver on loopback: records every message; answers 503 while `down`.
pub struct Webhook {
    pub url: String,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    pub down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub attempts: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Webhook {
    pub async fn start(down: bool) -> Webhook {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::sync::{Arc, Mutex};
        let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let flag = Arc::new(AtomicBool::new(down));
        let attempts = Arc::new(AtomicU64::new(0));
        let (r, f, a) = (received.clone(), flag.clone(), attempts.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
                let (r, f, a) = (r.clone(), f.clone(), a.clone());
                async move {
                    a.fetch_add(1, Ordering::Relaxed);
                    if f.load(Ordering::Relaxed) {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    r.lock().unwrap().push(v);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Webhook {
            url,
            received,
            down: flag,
            attempts,
            task,
        }
    }

    pub fn messages(&self) -> Vec<serde_json::Value> {
        self.received.lock().unwrap().clone()
    }

    /// Messages of `condition` (and `connector`, when given) as (status, message).
    pub fn of(&self, condition: &str, connector: Option<&str>) -> Vec<(String, String)> {
        self.messages()
            .iter()
            .filter(|m| m["condition"] == condition)
            .filter(|m| connector.is_none_or(|c| m["connector"] == c))
            .map(|m| {
                (
                    m["status"].as_str().unwrap_or("").to_owned(),
                    m["message"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}
