//! The plugin process: spawned in its own process group (so that killing it takes its children
//! along), dying with kontor (Linux: `PR_SET_PDEATHSIG`), stdout read line by line, the tail of
//! stderr kept for error messages.

use crate::error::truncate;
use crate::secret::Redactor;
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

/// Lines of stderr kept for error messages.
pub const STDERR_LINES: usize = 50;
/// Characters kept of one stderr line.
const STDERR_LINE_CHARS: usize = 500;
/// Longest stdout line accepted (one record).
pub const MAX_LINE: usize = 64 << 20;

/// What to start.
pub struct SpawnSpec {
    pub program: PathBuf,
    pub args: Vec<std::ffi::OsString>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// For log lines: the command line as configured.
    pub label: String,
    pub redactor: Redactor,
}

/// A running plugin.
pub struct Tap {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_task: Option<JoinHandle<()>>,
    /// The child's pid, which is also its process group id.
    pgid: Option<u32>,
    reaped: bool,
}

/// Starts the plugin with stdin closed, stdout and stderr piped.
pub async fn spawn(spec: SpawnSpec) -> io::Result<Tap> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    die_with_parent(&mut cmd);
    let mut child = spawn_on_spawner(cmd).await?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("stdout of the plugin is not piped"))?;
    let stderr_pipe = child.stderr.take();
    let stderr = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_LINES)));
    let stderr_task = stderr_pipe.map(|pipe| {
        let (tail, label, redactor) = (stderr.clone(), spec.label.clone(), spec.redactor.clone());
        tokio::spawn(async move {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            while let Ok(Some(_)) = read_line(&mut reader, &mut buf, MAX_LINE).await {
                let line = redactor.redact(&String::from_utf8_lossy(&buf));
                let line = truncate(line.trim_end(), STDERR_LINE_CHARS);
                tracing::debug!(plugin = %label, "stderr: {line}");
                let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                if tail.len() == STDERR_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        })
    });
    Ok(Tap {
        pgid: child.id(),
        child,
        stdout: BufReader::with_capacity(256 << 10, stdout),
        stderr,
        stderr_task,
        reaped: false,
    })
}

impl Tap {
    pub fn pid(&self) -> Option<u32> {
        self.pgid
    }

    /// The next stdout line (without the newline) into `buf`: `Ok(false)` at the end.
    pub async fn read_line(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        Ok(read_line(&mut self.stdout, buf, MAX_LINE).await?.is_some())
    }

    /// Kills the plugin and everything in its process group.
    pub fn kill_group(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self
            .pgid
            .and_then(|p| i32::try_from(p).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            // ESRCH (nothing left in the group) is fine.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        if !self.reaped {
            let _ = self.child.start_kill();
        }
    }

    /// Waits for the plugin to exit, at most `limit`: `None` when it is still running.
    pub async fn wait(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.reaped = true;
                Ok(Some(status))
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// Kills the process group and reaps the plugin (bounded wait).
    pub async fn kill_and_reap(&mut self) {
        if self.reaped {
            return;
        }
        self.kill_group();
        if let Err(e) = self.wait(Duration::from_secs(5)).await {
            tracing::debug!(error = %e, "waiting for the killed plugin");
        }
    }

    /// The last stderr lines, after giving the reader up to `settle` to reach the end.
    pub async fn stderr_tail(&mut self, settle: Duration) -> Vec<String> {
        if let Some(mut task) = self.stderr_task.take()
            && tokio::time::timeout(settle, &mut task).await.is_err()
        {
            task.abort();
        }
        let tail = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().cloned().collect()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill_group();
        }
        if let Some(task) = self.stderr_task.take() {
            task.abort();
        }
    }
}

/// How a plugin ended, in words.
pub fn describe_status(status: &ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("was killed by signal {sig}");
        }
    }
    format!("ended ({status})")
}

/// Reads up to and without the next `\n` into `buf`; `None` at the end of input. A line
/// longer than `max` bytes is an `InvalidData` error.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<()>> {
    buf.clear();
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            return Ok((!buf.is_empty()).then_some(()));
        }
        if let Some(i) = avail.iter().position(|&b| b == b'\n') {
            buf.extend_from_slice(&avail[..i]);
            r.consume(i + 1);
            return Ok(Some(()));
        }
        let n = avail.len();
        buf.extend_from_slice(avail);
        r.consume(n);
        if buf.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line longer than {} MiB", max >> 20),
            ));
        }
    }
}

/// `PR_SET_PDEATHSIG` is tied to the *thread* that forks the child: when that thread ends,
/// the child gets the signal. Tokio's threads come and go (blocking pool, `block_in_place`),
/// so plugins are spawned from one thread that lives as long as kontor.
type Job = Box<dyn FnOnce() + Send>;

fn spawner() -> Option<&'static std::sync::mpsc::Sender<Job>> {
    static SPAWNER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("kontor-plugin-spawn".into())
                .spawn(move || {
                    for job in rx {
                        job();
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

async fn spawn_on_spawner(mut cmd: Command) -> io::Result<Child> {
    let handle = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // The child registers with the caller's runtime (exit notification).
        let _runtime = handle.enter();
        // When the caller is gone, the child is dropped and killed (kill_on_drop).
        let _ = tx.send(cmd.spawn());
    });
    let gone = || io::Error::other("the plugin spawner thread is not running");
    spawner().ok_or_else(gone)?.send(job).map_err(|_| gone())?;
    rx.await.map_err(|_| gone())?
}

/// Makes the kernel SIGKILL the plugin when kontor dies (also by SIGKILL).
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before `exec`. It only makes the
    // async-signal-safe system calls prctl(2) and getppid(2), allocates nothing and touches
    // no locks (io::Error from an OS code does not allocate).
    unsafe {
        cmd.pre_exec(move || {
            let sig = libc::SIGKILL as libc::c_ulong;
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                sig,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // kontor may have died between fork and prctl: then nobody would kill us.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_split_and_capped() {
        let mut r = BufReader::with_capacity(4, &b"ab\r\ncdefgh\n\nlast"[..]);
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while read_line(&mut r, &mut buf, 100).await.unwrap().is_some() {
            lines.push(String::from_utf8(buf.clone()).unwrap());
        }
        assert_eq!(lines, ["ab\r", "cdefgh", "", "last"]);
        let mut r = BufReader::with_capacity(4, &b"0123456789\n"[..]);
        let e = read_line(&mut r, &mut buf, 5).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
